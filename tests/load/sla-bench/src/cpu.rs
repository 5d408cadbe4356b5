//! Where the CPU goes while timers are scheduled, read from /proc (Linux only; elsewhere
//! nothing is reported). Every process of a run shares the same cores, so a rate alone
//! cannot say whether the service, the load generator, Postgres or Redis is the limit;
//! CPU time per scheduled timer can, and it varies far less from run to run than a rate.

use std::{fs, time::Instant};

/// Clock ticks per second in /proc: USER_HZ, 100 on every Linux architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

/// Cumulative CPU seconds of each group of processes at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    at: Instant,
    service: f64,
    load: f64,
    postgres: f64,
    redis: f64,
    /// Non-idle CPU seconds of the whole machine.
    machine: f64,
}

/// CPU microseconds per timer of each group, and how many cores were busy.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct PerTimer {
    pub service_us: f64,
    pub load_us: f64,
    pub postgres_us: f64,
    pub redis_us: f64,
    pub busy_cores: f64,
}

/// utime + stime of a process, in seconds; with `children`, also cutime + cstime: the
/// time of its children that ended (a Postgres backend or autovacuum worker that exits
/// between two snapshots leaves its time to the postmaster there).
fn process_secs(pid: &str, children: bool) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields that matter follow its ')'; utime is
    // field 14 of proc(5), the 12th after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let last = if children { 14 } else { 12 };
    let mut ticks = 0.0;
    for i in 11..=last {
        ticks += fields.get(i)?.parse::<f64>().ok()?;
    }
    Some(ticks / TICKS_PER_SEC)
}

/// Summed CPU seconds of every process whose command name is `comm`.
fn by_name(comm: &str) -> f64 {
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .filter_map(|pid| process_secs(&pid, true))
        .sum()
}

/// Non-idle seconds of all cores (the first line of /proc/stat).
fn machine_secs() -> Option<f64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        // user nice system idle iowait irq softirq steal; guest time is inside user.
        .take(8)
        .filter_map(|t| t.parse().ok())
        .collect();
    // Idle and iowait are not busy.
    let busy: f64 = ticks.iter().sum::<f64>() - ticks.get(3)? - ticks.get(4).unwrap_or(&0.0);
    Some(busy / TICKS_PER_SEC)
}

/// The CPU seconds so far of the service replicas (`service_pids`), this process,
/// Postgres and Redis; `None` where /proc is not there.
pub fn snapshot(service_pids: &[u32]) -> Option<Snapshot> {
    let service = service_pids
        .iter()
        .map(|p| process_secs(&p.to_string(), false))
        .sum::<Option<f64>>()?;
    Some(Snapshot {
        at: Instant::now(),
        service,
        // Not its children: they are the replicas.
        load: process_secs("self", false)?,
        postgres: by_name("postgres"),
        redis: by_name("redis-server"),
        machine: machine_secs()?,
    })
}

impl Snapshot {
    /// What `timers` cost between `self` and the later snapshot `end`.
    pub fn per_timer(&self, end: &Snapshot, timers: usize) -> PerTimer {
        let us = |a: f64, b: f64| ((b - a) * 1e7 / timers.max(1) as f64).round() / 10.0;
        let wall = end.at.duration_since(self.at).as_secs_f64().max(1e-9);
        PerTimer {
            service_us: us(self.service, end.service),
            load_us: us(self.load, end.load),
            postgres_us: us(self.postgres, end.postgres),
            redis_us: us(self.redis, end.redis),
            busy_cores: ((end.machine - self.machine) / wall * 100.0).round() / 100.0,
        }
    }
}
