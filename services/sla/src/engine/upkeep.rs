//! Keeping Redis whole: expired leases reaped back to the schedule, the whole schedule
//! rebuilt from Postgres when Redis lost its data, overdue stragglers restored, calendars
//! refreshed.

use std::{
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Engine, now_ms};
use crate::{
    domain::Point,
    schedule::{self, SHARDS},
    store,
};

impl Engine {
    pub(super) async fn maintenance_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut conn = None;
        let mut ticks: u64 = 0;
        while !shutdown.is_cancelled() {
            if conn.is_none() {
                conn = self.connect().await;
            }
            if let Some(c) = conn.as_mut() {
                let result = async {
                    self.ensure_epoch(c).await?;
                    let now = now_ms();
                    for shard in 0..SHARDS {
                        let n = self.schedule.reap(c, shard, now).await?;
                        if n > 0 {
                            tracing::warn!(
                                shard,
                                count = n,
                                "expired leases returned to the schedule"
                            );
                            self.claim_wake.notify_one();
                        }
                    }
                    if ticks.is_multiple_of(2) {
                        self.restore_stragglers(c).await?;
                    }
                    anyhow::Ok(())
                }
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "schedule maintenance failed");
                    conn = None;
                }
            }
            if ticks.is_multiple_of(30)
                && let Err(e) = self.calendars.refresh(&self.pool).await
            {
                tracing::warn!(error = %e, "calendar refresh failed");
            }
            ticks += 1;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {},
            }
        }
    }

    /// Rebuilds the whole Redis schedule from Postgres when the epoch marker is missing
    /// (first start, or Redis lost its data).
    async fn ensure_epoch(&self, c: &mut ConnectionManager) -> anyhow::Result<()> {
        let epoch = self.schedule.keys().epoch();
        let exists: bool = redis::cmd("EXISTS").arg(&epoch).query_async(c).await?;
        if exists {
            return Ok(());
        }
        let started = Instant::now();
        let mut after = Uuid::nil();
        let mut total = 0usize;
        loop {
            let rows = store::scan_scheduled(&self.pool, after, 5000).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            total += rows.len();
            let events: Vec<schedule::Event> = {
                let busy = self.busy.lock().expect("busy poisoned");
                let held = self.held.lock().expect("held poisoned");
                rows.iter()
                    .map(|(id, g, p, at)| schedule::event(*id, *g, Point::from_db(*p), *at))
                    // Ours in memory: they fire (or retry) from here; the straggler pass
                    // restores any that fail meanwhile.
                    .filter(|(_, m, at)| !busy.contains(m) && !held.contains_key(&(*at, m.clone())))
                    .collect()
            };
            self.schedule.restore(c, &events).await?;
        }
        let _: () = redis::cmd("SET")
            .arg(&epoch)
            .arg(now_ms())
            .query_async(c)
            .await?;
        metrics::counter!("sla_schedule_rebuilds_total").increment(1);
        if total > 0 {
            tracing::warn!(
                timers = total,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "redis schedule rebuilt from postgres"
            );
        } else {
            tracing::info!("redis schedule initialised (no live timers)");
        }
        self.claim_wake.notify_one();
        Ok(())
    }

    async fn restore_stragglers(&self, c: &mut ConnectionManager) -> anyhow::Result<()> {
        let rows = store::overdue(&self.pool, self.settings.straggler_grace_ms, 5000).await?;
        // Ours delivered and not yet recorded are not stragglers: when recording falls
        // behind they are thousands, and restoring each (a no-op under its lease) only
        // slowed the recording further.
        let mut events: Vec<schedule::Event> = rows
            .iter()
            .map(|(id, g, p, at)| schedule::event(*id, *g, Point::from_db(*p), *at))
            .collect();
        {
            let busy = self.busy.lock().expect("busy poisoned");
            events.retain(|(_, m, _)| !busy.contains(m));
        }
        self.schedule.restore(c, &events).await?;
        Ok(())
    }
}
