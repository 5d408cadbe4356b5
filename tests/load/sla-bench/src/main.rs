//! `sla-bench`: the SLA timer service's benchmark (issue 4, `make bench-sla`). Starts a
//! TimerCallback receiver and N `sla` replicas on a fresh schema, schedules timers due
//! evenly over a window, and reports the scheduling rate and the firing lateness
//! (receive time − due time), duplicates and missing, as one human line and one JSON line.
//!
//! ```text
//! sla-bench [--replicas 1|2] [--mode single|batch] [--timers 100000] [--window 20s]
//!           [--lead 30s] [--grace 30s] [--settle 2s] [--concurrency 256] [--batch 500]
//!           [--channels 4] [--sla-bin target/release/sla] [--log-dir .run/bench] [--keep]
//! ```
//! Needs DATABASE_URL, REDIS_URL and AUTH_JWT_SECRET (the replicas inherit them).

mod conn;
mod cpu;
mod load;
mod receiver;
mod replicas;
mod report;

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, bail};
use kit::auth::{Role, Tokens};

use crate::{
    load::{Load, Mode, Plan},
    receiver::Recorder,
    replicas::{Replicas, Setup},
    report::{percentile, round3},
};

/// Command-line options; the defaults are issue 4's workload.
#[derive(Debug)]
struct Args {
    replicas: usize,
    mode: Mode,
    timers: usize,
    /// The due times are spread over this window...
    window: Duration,
    /// ...which starts this long after scheduling starts, so that scheduling ends first.
    lead: Duration,
    /// How long after the window's end to wait for stragglers before calling them missing.
    grace: Duration,
    /// How long to keep listening after the last expected delivery, to catch duplicates.
    settle: Duration,
    concurrency: usize,
    batch: usize,
    /// HTTP/2 connections for the load, spread over the replicas.
    channels: usize,
    sla_bin: PathBuf,
    log_dir: PathBuf,
    /// Keep the schema and Redis keys afterwards (to inspect a run).
    keep: bool,
}

/// "20s", "1500ms", "2m" or a bare number of seconds.
fn parse_duration(raw: &str) -> anyhow::Result<Duration> {
    let (num, unit) = match raw.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let n: f64 = num
        .parse()
        .with_context(|| format!("bad duration {raw:?}"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => bail!("bad duration unit in {raw:?} (use ms, s or m)"),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        replicas: 1,
        mode: Mode::Single,
        timers: 100_000,
        window: Duration::from_secs(20),
        lead: Duration::from_secs(30),
        grace: Duration::from_secs(30),
        settle: Duration::from_secs(2),
        concurrency: 256,
        batch: 500,
        channels: 4,
        sla_bin: "target/release/sla".into(),
        log_dir: ".run/bench".into(),
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--keep" {
            a.keep = true;
            continue;
        }
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        let count = |v: &str| -> anyhow::Result<usize> {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| anyhow!("{flag}: expected a positive integer, got {v:?}"))
        };
        match flag.as_str() {
            "--replicas" => a.replicas = count(&value)?,
            "--mode" => {
                a.mode = match value.as_str() {
                    "single" => Mode::Single,
                    "batch" | "bulk" => Mode::Batch,
                    _ => bail!("--mode: single or batch, got {value:?}"),
                }
            }
            "--timers" => a.timers = count(&value)?,
            "--window" => a.window = parse_duration(&value)?,
            "--lead" => a.lead = parse_duration(&value)?,
            "--grace" => a.grace = parse_duration(&value)?,
            "--settle" => a.settle = parse_duration(&value)?,
            "--concurrency" => a.concurrency = count(&value)?,
            "--batch" => a.batch = count(&value)?,
            "--channels" => a.channels = count(&value)?,
            "--sla-bin" => a.sla_bin = value.into(),
            "--log-dir" => a.log_dir = value.into(),
            _ => bail!("unknown option {flag} (see the doc comment of tests/load/sla-bench)"),
        }
    }
    if a.window.is_zero() {
        bail!("--window must be positive");
    }
    Ok(a)
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow!("{name} is not set"))
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn main() -> ExitCode {
    match kit::server::runtime().block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sla-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let database_url = env("DATABASE_URL")?;
    let redis_url = std::env::var("REDIS_URL").unwrap_or("redis://127.0.0.1:6379".into());
    let secret = env("AUTH_JWT_SECRET")?;
    let issuer = std::env::var("AUTH_JWT_ISSUER").unwrap_or("aftersales".into());
    if !args.sla_bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p sla`",
            args.sla_bin.display()
        );
    }

    // A schema and Redis prefix of our own: the run starts empty, leaves no trace, and
    // never touches the `sla` schema of a `make run` on the same servers.
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let schema = format!("sla_bench_{id}");
    let redis_prefix = format!("sla_bench_{id}:");

    let (addr, recorder) = receiver::start().await?;
    let setup = Setup {
        bin: args.sla_bin.clone(),
        schema: schema.clone(),
        redis_prefix: redis_prefix.clone(),
        bench_url: format!("http://{addr}"),
        log_dir: args.log_dir.clone(),
    };
    // The owner of the timers is the token's subject, "repairs", hence REPAIRS_URL above:
    // the SLA service admits only the services that own cases.
    let token = Tokens::new(&secret, &issuer).mint(Role::Service, "repairs", None, 3600);

    let result = tokio::select! {
        r = measure(&args, &setup, &recorder, &token, &id) => r,
        _ = interrupted() => Err(anyhow!("interrupted")),
    };
    // Clean up whatever happened (an interrupted `measure` has killed its replicas on drop).
    if args.keep {
        eprintln!("sla-bench: kept schema {schema} and Redis prefix {redis_prefix}");
    } else if let Err(e) = cleanup(&database_url, &schema, &redis_url, &redis_prefix).await {
        eprintln!("sla-bench: cleanup of {schema} failed: {e:#}");
    }
    result
}

/// Ctrl-C or SIGTERM (the orchestrating script may be stopped).
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// One run: replicas up, schedule, wait for the deliveries, replicas down, report.
async fn measure(
    args: &Args,
    setup: &Setup,
    recorder: &Recorder,
    token: &str,
    run_id: &str,
) -> anyhow::Result<()> {
    let mut replicas = Replicas::start(setup, args.replicas).await?;
    let urls = replicas.urls();
    // A few HTTP/2 connections, round-robin over the replicas, so that with two replicas
    // both take scheduling load, as behind a load balancer.
    let mut channels = Vec::with_capacity(args.channels);
    for k in 0..args.channels.max(urls.len()) {
        let url = &urls[k % urls.len()];
        channels.push(
            conn::connect(url)
                .await
                .with_context(|| format!("connecting to {url}"))?,
        );
    }

    let plan = Plan {
        timers: args.timers,
        window_start_ms: unix_ms(SystemTime::now() + args.lead),
        window_ms: args.window.as_millis() as u64,
        run: run_id.to_string(),
    };
    let load = Load {
        mode: args.mode,
        concurrency: args.concurrency,
        batch: args.batch,
    };
    let cpu_before = cpu::snapshot(&replicas.pids());
    let outcome = load::schedule(&plan, &load, &channels, token).await?;
    let cpu = cpu_before
        .zip(cpu::snapshot(&replicas.pids()))
        .map(|(a, b)| a.per_timer(&b, outcome.scheduled));
    if let Some(c) = &cpu {
        eprintln!(
            "sla-bench: CPU per scheduled timer: service {} us, load generator {} us, \
             postgres {} us, redis {} us ({} cores busy)",
            c.service_us, c.load_us, c.postgres_us, c.redis_us, c.busy_cores
        );
    }
    let rate = outcome.scheduled as f64 / outcome.elapsed.as_secs_f64();
    eprintln!(
        "sla-bench: scheduled {}/{} timers in {:.2} s ({rate:.0}/s), {} retries",
        outcome.scheduled,
        args.timers,
        outcome.elapsed.as_secs_f64(),
        outcome.retries
    );
    if outcome.errors > 0 {
        eprintln!(
            "sla-bench: warning: {} timers failed to schedule; first error: {}",
            outcome.errors,
            outcome.first_error.as_deref().unwrap_or("?")
        );
    }
    if outcome.late_scheduled > 0 {
        eprintln!(
            "sla-bench: warning: {} timers were acknowledged after their due time \
             (scheduling outlasted --lead {:?}); they cannot fire on time",
            outcome.late_scheduled, args.lead
        );
    }
    if outcome.scheduled == 0 {
        replicas.stop().await;
        bail!(
            "no timer could be scheduled: {}",
            outcome.first_error.unwrap_or_default()
        );
    }

    // The firing's own CPU, from the first due time to the last delivery (the receiver
    // runs in this process, so "load generator" is the owner's side here).
    if let Ok(until) = plan.due(0).duration_since(SystemTime::now()) {
        tokio::time::sleep(until).await;
    }
    let firing_before = cpu::snapshot(&replicas.pids());
    wait_for_deliveries(args, &plan, recorder, outcome.scheduled, &mut replicas).await;
    if let Some(c) = firing_before
        .zip(cpu::snapshot(&replicas.pids()))
        .map(|(a, b)| a.per_timer(&b, outcome.scheduled))
    {
        eprintln!(
            "sla-bench: CPU per fired timer: service {} us, owner {} us, postgres {} us, \
             redis {} us ({} cores busy)",
            c.service_us, c.load_us, c.postgres_us, c.redis_us, c.busy_cores
        );
    }
    // A short settle to catch late duplicates.
    tokio::time::sleep(args.settle).await;
    let crashed = replicas.check_alive().err();
    replicas.stop().await;
    if let Some(e) = &crashed {
        eprintln!("sla-bench: warning: {e:#}");
    }

    let mut scheduled = vec![true; args.timers];
    for range in &outcome.failed {
        scheduled[range.clone()].fill(false);
    }
    let f = report::firing(&plan, &recorder.deliveries(), &scheduled);
    let (p50, p99, p999) = (
        percentile(&f.lateness_ms, 50.0),
        percentile(&f.lateness_ms, 99.0),
        percentile(&f.lateness_ms, 99.9),
    );
    let max = f.lateness_ms.last().copied();
    if f.due_mismatch > 0 || f.foreign > 0 {
        eprintln!(
            "sla-bench: warning: {} deliveries carried another due time, {} were not this \
             run's expiries",
            f.due_mismatch, f.foreign
        );
    }
    let ms = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
    eprintln!(
        "sla-bench: of the lateness, until fired p50/p99/p99.9 {}/{}/{} ms, the owner call \
         {}/{}/{} ms",
        ms(percentile(&f.firing_ms, 50.0)),
        ms(percentile(&f.firing_ms, 99.0)),
        ms(percentile(&f.firing_ms, 99.9)),
        ms(percentile(&f.transit_ms, 50.0)),
        ms(percentile(&f.transit_ms, 99.0)),
        ms(percentile(&f.transit_ms, 99.9)),
    );
    println!(
        "aftersales-sla {} x{} replica(s): {} timers, scheduled at {rate:.0}/s ({:.2} s); \
         lateness p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms; duplicates {}, missing {}",
        args.mode.as_str(),
        args.replicas,
        args.timers,
        outcome.elapsed.as_secs_f64(),
        ms(p50),
        ms(p99),
        ms(p999),
        ms(max),
        f.duplicates,
        f.missing
    );
    let result = Summary {
        system: "aftersales-sla",
        replicas: args.replicas,
        mode: args.mode.as_str(),
        timers: args.timers,
        scheduled: outcome.scheduled,
        schedule_errors: outcome.errors,
        late_scheduled: outcome.late_scheduled,
        retries: outcome.retries,
        schedule_secs: round3(Some(outcome.elapsed.as_secs_f64())),
        schedule_rate: round3(Some(rate)),
        p50_ms: round3(p50),
        p99_ms: round3(p99),
        p999_ms: round3(p999),
        max_ms: round3(max),
        early: f.early,
        duplicates: f.duplicates,
        same_id_duplicates: f.same_id_duplicates,
        missing: f.missing,
        due_mismatch: f.due_mismatch,
        foreign: f.foreign,
        window_s: args.window.as_secs_f64(),
        concurrency: args.concurrency,
        batch: if args.mode == Mode::Batch {
            args.batch
        } else {
            1
        },
        replica_crashed: crashed.is_some(),
        cpu,
    };
    let json = serde_json::to_string(&result)?;
    println!("{json}");
    Ok(())
}

/// The JSON line: the same keys, in the same order, as the BullMQ peer's, "system" first
/// (a struct keeps the order; serde_json's map would sort the keys).
#[derive(serde::Serialize)]
struct Summary {
    system: &'static str,
    replicas: usize,
    mode: &'static str,
    timers: usize,
    scheduled: usize,
    schedule_errors: usize,
    late_scheduled: usize,
    retries: usize,
    schedule_secs: Option<f64>,
    schedule_rate: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    p999_ms: Option<f64>,
    max_ms: Option<f64>,
    early: usize,
    duplicates: usize,
    same_id_duplicates: usize,
    missing: usize,
    due_mismatch: usize,
    foreign: usize,
    window_s: f64,
    concurrency: usize,
    batch: usize,
    replica_crashed: bool,
    /// CPU microseconds per timer while scheduling (Linux): where a call's cost goes.
    cpu: Option<cpu::PerTimer>,
}

/// Waits until every scheduled timer was delivered or the window's end + grace passed,
/// with a progress line every 5 s.
async fn wait_for_deliveries(
    args: &Args,
    plan: &Plan,
    recorder: &Recorder,
    expected: usize,
    replicas: &mut Replicas,
) {
    let deadline_at = plan.window_end() + args.grace;
    let deadline = Instant::now()
        + deadline_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
    let mut distinct = recorder.distinct();
    loop {
        let step = deadline.min(Instant::now() + Duration::from_secs(5));
        let all = tokio::time::timeout_at(step.into(), distinct.wait_for(|&n| n >= expected))
            .await
            .is_ok_and(|r| r.is_ok());
        if all || Instant::now() >= deadline {
            break;
        }
        if let Err(e) = replicas.check_alive() {
            // Keep waiting: the other replica may take over (its figures will show it).
            eprintln!("sla-bench: warning: {e:#}");
        }
        // Progress only once timers are due: before, it would say 0 every time.
        if SystemTime::now() >= plan.due(0) {
            eprintln!(
                "sla-bench: {}/{expected} timers delivered",
                *distinct.borrow()
            );
        }
    }
}

/// Drops the run's schema and deletes its Redis keys.
async fn cleanup(
    database_url: &str,
    schema: &str,
    redis_url: &str,
    prefix: &str,
) -> anyhow::Result<()> {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(database_url).await?;
    conn.execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
        .await?;
    conn.close().await?;

    let client = redis::Client::open(redis_url)?;
    let mut con = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut con)
                .await?;
        }
        cursor = next;
        if cursor == 0 {
            return Ok(());
        }
    }
}
