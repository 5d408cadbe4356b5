//! Claiming: every pass takes the events due within the lookahead from each Redis shard
//! under a lease, loads their timers, drops the members that moved on and holds the
//! current ones in memory for the firing loop.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{CLAIM_EVERY, CLAIM_LIMIT, ClaimRef, Engine, Held, LOOKAHEAD_MS, now_ms};
use crate::{domain, schedule::SHARDS, store};

impl Engine {
    pub(super) async fn claim_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut conn = None;
        while !shutdown.is_cancelled() {
            if conn.is_none() {
                conn = self.connect().await;
            }
            if let Some(c) = conn.as_mut()
                && let Err(e) = self.claim_pass(c).await
            {
                tracing::warn!(error = %e, "claim pass failed");
                conn = None;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.claim_wake.notified() => {},
                _ = tokio::time::sleep(CLAIM_EVERY) => {},
            }
        }
    }

    async fn claim_pass(&self, c: &mut ConnectionManager) -> anyhow::Result<()> {
        let now = now_ms();
        let mut claimed = Vec::new();
        for shard in 0..SHARDS {
            for item in self
                .schedule
                .claim(c, shard, now, now + LOOKAHEAD_MS, CLAIM_LIMIT)
                .await?
            {
                claimed.push((shard, item));
            }
        }
        if claimed.is_empty() {
            return Ok(());
        }
        let mut wanted: HashMap<Uuid, Vec<ClaimRef>> = HashMap::new();
        let mut garbage: Vec<(u32, String)> = Vec::new();
        for (shard, item) in claimed {
            match domain::parse_delivery_id(&item.member)
                .and_then(|(id, g, p)| Some((Uuid::parse_str(&id).ok()?, g, p)))
            {
                Some((id, generation, point)) => wanted.entry(id).or_default().push((
                    shard,
                    item.member,
                    generation,
                    point,
                    item.at_ms,
                )),
                None => garbage.push((shard, item.member)),
            }
        }
        let ids: Vec<Uuid> = wanted.keys().copied().collect();
        let rows = store::load(&self.pool, &ids).await?;
        let mut fresh = Vec::new();
        for row in rows {
            let row = Arc::new(row);
            for (shard, member, generation, point, at_ms) in
                wanted.remove(&row.id).unwrap_or_default()
            {
                if row.state == "scheduled"
                    && row.generation == generation
                    && row.next_point == Some(point.to_db())
                {
                    fresh.push((
                        at_ms,
                        Held {
                            member,
                            shard,
                            point,
                            row: row.clone(),
                        },
                    ));
                } else {
                    garbage.push((shard, member));
                }
            }
        }
        // Members whose timer no longer exists, or moved on: drop their leases.
        for (_, left) in wanted {
            garbage.extend(left.into_iter().map(|(s, m, ..)| (s, m)));
        }
        for (shard, member) in garbage {
            self.schedule.complete(c, shard, &[member]).await?;
        }
        if !fresh.is_empty() {
            // A lease that expired while this replica still held or delivered the event
            // (its firing stalled past the lease) comes back here reaped, under a new due
            // score: a second copy of it would fire twice.
            let busy = self.busy.lock().expect("busy poisoned");
            let mut held = self.held.lock().expect("held poisoned");
            let claimed: HashSet<&str> = fresh.iter().map(|(_, h)| h.member.as_str()).collect();
            let mut seen: HashSet<String> = held
                .keys()
                .filter(|(_, m)| claimed.contains(m.as_str()))
                .map(|(_, m)| m.clone())
                .collect();
            for (at, h) in fresh {
                if !busy.contains(&h.member) && seen.insert(h.member.clone()) {
                    held.insert((at, h.member.clone()), h);
                }
            }
            drop(busy);
            drop(held);
            self.fire_wake.notify_one();
        }
        Ok(())
    }
}
