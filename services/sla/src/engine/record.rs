//! Recording outcomes: deliveries' results in batches, in one Postgres transaction
//! (expiries and their breaches, reminders and the next event, retries with backoff, dead
//! letters), then Redis brought in step.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
};

use chrono::Utc;
use kit::outbox::Batch;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Engine, Held, Outcome};
use crate::{
    domain::{self, Point},
    events,
    schedule::{self},
    store,
};

impl Engine {
    pub(super) async fn completion_loop(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Outcome>,
        shutdown: CancellationToken,
    ) {
        let mut conn = None;
        loop {
            let first = tokio::select! {
                o = rx.recv() => match o { Some(o) => o, None => return },
                _ = shutdown.cancelled() => return,
            };
            let mut batch = vec![first];
            while batch.len() < 1000 {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
            if conn.is_none() {
                conn = self.connect().await;
            }
            let members: Vec<String> = batch
                .iter()
                .map(|o| match o {
                    Outcome::Acked { held, .. } | Outcome::Failed { held, .. } => {
                        held.member.clone()
                    }
                })
                .collect();
            if let Err(e) = self.record(batch, conn.as_mut()).await {
                // The events stay leased; the lease expires and they fire again, and
                // owners deduplicate by delivery id. Nothing is lost.
                tracing::error!(error = %e, "recording delivery outcomes failed");
                conn = None;
            }
            let mut busy = self.busy.lock().expect("busy poisoned");
            for m in &members {
                busy.remove(m);
            }
        }
    }

    async fn record(
        &self,
        batch: Vec<Outcome>,
        conn: Option<&mut ConnectionManager>,
    ) -> anyhow::Result<()> {
        let mut expired = Vec::new();
        let mut reminded = Vec::new();
        let mut failed = Vec::new();
        let mut dead = Vec::new();
        let mut done: Vec<Held> = Vec::new();
        let mut next_events: Vec<(Uuid, u32, String, i64)> = Vec::new();
        let mut retries: Vec<schedule::Event> = Vec::new();
        for o in batch {
            match o {
                Outcome::Acked { held, fired } => {
                    let row = &held.row;
                    match held.point {
                        Point::Expiry => expired.push(store::Expired {
                            id: row.id,
                            generation: row.generation,
                            fired,
                            attempts: row.attempts + 1,
                        }),
                        Point::Reminder(i) => {
                            let done_mask = row.reminders_done as u32 | (1 << i);
                            let (np, at) = domain::next_point(
                                &row.reminder_instants(),
                                done_mask,
                                row.due_time,
                            );
                            reminded.push(store::Reminded {
                                id: row.id,
                                generation: row.generation,
                                point: i as i32,
                                next_point: np.to_db(),
                                next_at: at,
                            });
                            next_events.push((
                                row.id,
                                held.shard,
                                domain::delivery_id(&row.id.to_string(), row.generation, np),
                                at.timestamp_millis(),
                            ));
                        }
                    }
                    done.push(held);
                }
                Outcome::Failed { held, error } => {
                    let attempts = held.row.attempts as u32 + 1;
                    if attempts >= self.settings.max_attempts {
                        dead.push((held, attempts, error));
                    } else {
                        let retry_at = Utc::now() + domain::retry_backoff(attempts - 1);
                        failed.push(store::Failed {
                            id: held.row.id,
                            generation: held.row.generation,
                            point: held.point.to_db(),
                            attempts: attempts as i32,
                            retry_at,
                            error,
                        });
                        retries.push((
                            held.shard,
                            held.member.clone(),
                            retry_at.timestamp_millis(),
                        ));
                    }
                }
            }
        }

        let mut tx = self.pool.begin().await?;
        let mut events = Batch::default();
        for breach in store::complete_expiries(&mut tx, &expired).await? {
            events::expired(&mut events, &breach);
        }
        let advanced = store::complete_reminders(&mut tx, &reminded).await?;
        store::record_failures(&mut tx, &failed).await?;
        let mut dead_done = Vec::new();
        for (held, attempts, error) in dead {
            let row = &held.row;
            let next = match held.point {
                Point::Expiry => None,
                Point::Reminder(i) => {
                    let (np, at) = domain::next_point(
                        &row.reminder_instants(),
                        row.reminders_done as u32 | (1 << i),
                        row.due_time,
                    );
                    next_events.push((
                        row.id,
                        held.shard,
                        domain::delivery_id(&row.id.to_string(), row.generation, np),
                        at.timestamp_millis(),
                    ));
                    Some((np.to_db(), at))
                }
            };
            let parked = store::dead_letter(
                &mut tx,
                store::Parking {
                    id: row.id,
                    generation: row.generation,
                    point: held.point.to_db(),
                    delivery_id: &held.member,
                    attempts: attempts as i32,
                    error: &error,
                    next,
                },
            )
            .await?;
            if let Some(parked) = &parked {
                events::dead_lettered(&mut events, parked);
                metrics::counter!("sla_dead_letters_total", "owner" => row.owner.clone())
                    .increment(1);
                tracing::error!(timer = %row.id, owner = %row.owner, delivery = %held.member, "delivery parked as dead letter");
            }
            dead_done.push(held);
        }
        events.flush(&mut tx).await?;
        tx.commit().await?;

        // Redis follows Postgres. If it fails here, leases expire and the reconciler
        // restores what Postgres says; owners deduplicate the rare repeat.
        let Some(c) = conn else {
            anyhow::bail!("redis unavailable after commit");
        };
        let mut by_shard: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for h in done.iter().chain(dead_done.iter()) {
            by_shard.entry(h.shard).or_default().push(h.member.clone());
        }
        for (shard, members) in by_shard {
            self.schedule.complete(c, shard, &members).await?;
        }
        let advanced: HashSet<Uuid> = advanced.into_iter().collect();
        let adds: Vec<schedule::Event> = next_events
            .into_iter()
            .filter(|(id, ..)| advanced.contains(id) || dead_done.iter().any(|h| h.row.id == *id))
            .map(|(_, s, m, at)| (s, m, at))
            .collect();
        self.schedule.add(c, &adds).await?;
        for (shard, member, at) in retries {
            self.schedule.retry(c, shard, &member, at).await?;
        }
        if !adds.is_empty() {
            self.claim_wake.notify_one();
        }
        Ok(())
    }
}
