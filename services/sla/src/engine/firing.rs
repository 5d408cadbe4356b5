//! Firing: the loop that sleeps until exactly the earliest held event, confirms its lease,
//! and delivers it to the owner's `TimerCallback` (also an operator's replay of a
//! dead-lettered reminder).

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, TimerEventKind, timer_callback_client::TimerCallbackClient,
};
use chrono::{DateTime, Utc};
use kit::{client::Peers, time::ts};
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CALL_TIMEOUT, Engine, Held, Outcome, Unbusy, now_ms};
use crate::{domain::Point, render, store::TimerRow};

impl Engine {
    pub(super) async fn fire_loop(
        self: Arc<Self>,
        out: mpsc::UnboundedSender<Outcome>,
        shutdown: CancellationToken,
    ) {
        let mut conn = None;
        while !shutdown.is_cancelled() {
            let next = self
                .held
                .lock()
                .expect("held poisoned")
                .keys()
                .next()
                .map(|(at, _)| *at);
            let wait = match next {
                None => StdDuration::from_secs(3600),
                Some(at) => StdDuration::from_millis((at - now_ms()).max(0) as u64),
            };
            if !wait.is_zero() {
                // Sleep until exactly the earliest due time; an earlier arrival wakes us.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.fire_wake.notified() => continue,
                    _ = tokio::time::sleep_until((Instant::now() + wait).into()) => {},
                }
            }
            let now = now_ms();
            let due: Vec<Held> = {
                let mut held = self.held.lock().expect("held poisoned");
                let later = held.split_off(&(now + 1, String::new()));
                std::mem::replace(&mut *held, later).into_values().collect()
            };
            // Never two deliveries of one event at once (see the claim pass).
            let due: Vec<Held> = {
                let busy = self.busy.lock().expect("busy poisoned");
                let mut seen = HashSet::new();
                due.into_iter()
                    .filter(|h| !busy.contains(&h.member) && seen.insert(h.member.clone()))
                    .collect()
            };
            if due.is_empty() {
                continue;
            }
            if conn.is_none() {
                conn = self.connect().await;
            }
            let Some(c) = conn.as_mut() else {
                // Without Redis the lease cannot be confirmed; the leases will expire and
                // the events come back. Drop them here rather than risk a double fire.
                continue;
            };
            match self.confirm(c, due).await {
                Ok(confirmed) => {
                    for held in confirmed {
                        let permit = self
                            .in_flight
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("semaphore never closed");
                        let this = self.clone();
                        let out = out.clone();
                        self.busy
                            .lock()
                            .expect("busy poisoned")
                            .insert(held.member.clone());
                        tokio::spawn(async move {
                            // Dropped before its outcome is sent (the firing runtime ended),
                            // the delivery is no longer busy: its lease brings it back, and
                            // the straggler pass and a rebuild must not skip it.
                            let mut unbusy = Unbusy(Some((this.clone(), held.member.clone())));
                            let outcome = this.deliver(held).await;
                            // From here the completion loop clears it, once recorded.
                            unbusy.0 = None;
                            let _ = out.send(outcome);
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lease confirmation failed");
                    conn = None;
                }
            }
        }
    }

    async fn confirm(
        &self,
        c: &mut ConnectionManager,
        due: Vec<Held>,
    ) -> anyhow::Result<Vec<Held>> {
        let mut by_shard: BTreeMap<u32, Vec<Held>> = BTreeMap::new();
        for h in due {
            by_shard.entry(h.shard).or_default().push(h);
        }
        let query: Vec<(u32, Vec<String>)> = by_shard
            .iter()
            .map(|(s, items)| (*s, items.iter().map(|h| h.member.clone()).collect()))
            .collect();
        let flags = self.schedule.confirm(c, &query).await?;
        Ok(by_shard
            .into_values()
            .zip(flags)
            .flat_map(|(items, flags)| {
                items
                    .into_iter()
                    .zip(flags)
                    .filter_map(|(h, ok)| ok.then_some(h))
            })
            .collect())
    }

    async fn deliver(&self, held: Held) -> Outcome {
        let row = &held.row;
        let fired = Utc::now();
        let result = self
            .call_owner(
                &self.firing_peers,
                row,
                held.point,
                &held.member,
                row.attempts as u32 + 1,
                fired,
            )
            .await;
        match result {
            Ok(_) => {
                let due = if held.point == Point::Expiry {
                    row.due_time
                } else {
                    row.next_fire_at.unwrap_or(row.due_time)
                };
                let lateness = (fired - due).num_milliseconds().max(0) as f64 / 1000.0;
                metrics::histogram!("sla_fire_lateness_seconds").record(lateness);
                metrics::counter!("sla_delivered_total", "owner" => row.owner.clone()).increment(1);
                Outcome::Acked { held, fired }
            }
            Err(error) => {
                metrics::counter!("sla_delivery_failures_total", "owner" => row.owner.clone())
                    .increment(1);
                tracing::warn!(timer = %row.id, owner = %row.owner, %error, "delivery failed");
                Outcome::Failed { held, error }
            }
        }
    }

    /// Calls the owner's TimerCallback with one event of `row`.
    async fn call_owner(
        &self,
        peers: &Peers,
        row: &TimerRow,
        point: Point,
        delivery_id: &str,
        attempt: u32,
        fired: DateTime<Utc>,
    ) -> Result<(), String> {
        let (event_kind, reminder_index) = match point {
            Point::Expiry => (TimerEventKind::Expired, 0),
            Point::Reminder(i) => (TimerEventKind::Reminder, i),
        };
        let request = OnTimerEventRequest {
            delivery_id: delivery_id.to_string(),
            timer: render::timer_name(row.id),
            owner: row.owner.clone(),
            subject: row.subject.clone(),
            kind: row.kind.clone(),
            event_kind: event_kind as i32,
            reminder_index,
            due_time: Some(ts(row.due_time)),
            fired_time: Some(ts(fired)),
            attempt,
            labels: row.labels.0.clone(),
            payload: row.payload.clone(),
        };
        let channel = peers.get(&row.owner).map_err(|e| e.to_string())?;
        let mut req = tonic::Request::new(request);
        req.set_timeout(CALL_TIMEOUT);
        TimerCallbackClient::new(channel)
            .on_timer_event(req)
            .await
            .map(|_| ())
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
    }

    /// Delivers a dead-lettered reminder once more, now (an operator's replay). The timer
    /// has moved on past it, so it goes straight to the owner rather than through the
    /// schedule; the delivery id is the original one, so an owner that did get it once
    /// recognises the repeat.
    pub async fn replay_reminder(
        &self,
        row: &TimerRow,
        point: Point,
        delivery_id: &str,
        attempt: u32,
    ) -> Result<(), String> {
        let result = self
            .call_owner(&self.peers, row, point, delivery_id, attempt, Utc::now())
            .await;
        let outcome = if result.is_ok() {
            "delivered"
        } else {
            "failed"
        };
        metrics::counter!("sla_replays_total", "outcome" => outcome).increment(1);
        result
    }
}
