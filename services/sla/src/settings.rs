//! The SLA service's settings, read from `SLA_*`: the engine's tunables (delivery attempts,
//! claim lease, straggler grace) and the write path's (group committers, writer
//! connections).

use std::time::Duration;

use kit::config::Env;

use crate::engine;

/// Settings read from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `SLA_MAX_ATTEMPTS` (default 8, at least 1), `SLA_STRAGGLER_GRACE` (2 s), `SLA_LEASE`
    /// (30 s).
    pub engine: engine::Settings,
    /// Group commits in flight at once (`SLA_COMMITTERS`). One by default: the calls that
    /// arrive while a group commits form the next group, and on 2 cores fewer, larger
    /// groups schedule ~40% more timers per second than 4 concurrent ones (make bench-sla).
    pub committers: usize,
    /// The writer thread's connections (`SLA_WRITER_CONNECTIONS`, default 4), beside the
    /// pool's: the group commits' and those of concurrent BatchScheduleTimers calls.
    pub writer_connections: u32,
}

impl Settings {
    /// Reads the environment.
    pub fn from_env(env: &Env) -> anyhow::Result<Self> {
        let engine = engine::Settings {
            max_attempts: env.parse_or("SLA_MAX_ATTEMPTS", 8u32)?,
            straggler_grace_ms: env
                .duration_or("SLA_STRAGGLER_GRACE", Duration::from_secs(2))?
                .as_millis() as i64,
            lease_ms: env
                .duration_or("SLA_LEASE", Duration::from_secs(30))?
                .as_millis() as i64,
        };
        if engine.max_attempts == 0 {
            anyhow::bail!("environment variable SLA_MAX_ATTEMPTS must be at least 1");
        }
        Ok(Self {
            engine,
            committers: env.parse_or("SLA_COMMITTERS", 1usize)?,
            writer_connections: env.parse_or("SLA_WRITER_CONNECTIONS", 4u32)?,
        })
    }
}
