//! The firing engine, one per replica, with no coordinator. It claims events due in the
//! next moments from the Redis shards (atomically, with a lease), holds them in memory and
//! wakes exactly at each due time, confirms the lease is still held (a cancel may have
//! come meanwhile), calls the owner's `TimerCallback`, and records the outcome in Postgres
//! in batches. A replica that dies mid-delivery leaves leases that expire and are reaped
//! back to `due`; a Redis that lost its data is rebuilt from Postgres.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration as StdDuration, Instant, SystemTime, UNIX_EPOCH},
};

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, TimerEventKind, timer_callback_client::TimerCallbackClient,
};
use chrono::{DateTime, Utc};
use kit::{client::Peers, outbox::Batch, time::ts};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    calendars::Calendars,
    domain::{self, Point},
    events, render,
    schedule::{self, Keys, SHARDS, Schedule},
    store::{self, TimerRow},
};

/// How far ahead events are claimed into memory: long enough to absorb a slow claim pass,
/// short enough that a replica dying holds little.
const LOOKAHEAD_MS: i64 = 1500;
// A new event due beyond `ADD_NEW_FAR_MS` is added without looking for its lease or
// tombstone: only events within the lookahead can have them.
const _: () = assert!(LOOKAHEAD_MS * 4 <= schedule::ADD_NEW_FAR_MS);
/// How often the claim pass runs (it also runs when a near timer is scheduled here).
const CLAIM_EVERY: StdDuration = StdDuration::from_millis(200);
/// Events claimed per shard per pass.
const CLAIM_LIMIT: usize = 2000;
/// Owner calls in flight per replica.
const MAX_IN_FLIGHT: usize = 512;
/// Callback deadline.
const CALL_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Tunables that tests shorten.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Attempts before a delivery becomes a dead letter (`SLA_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Overdue grace before the straggler pass restores an event from Postgres.
    pub straggler_grace_ms: i64,
    /// Claim lease (`SLA_LEASE`): how long a dead replica's events wait before another
    /// replica takes them back.
    pub lease_ms: i64,
}

/// A claimed event, loaded and waiting for its instant.
#[derive(Clone)]
struct Held {
    member: String,
    shard: u32,
    point: Point,
    row: Arc<TimerRow>,
}

/// A claimed member parsed: (shard, member, generation, point, due ms).
type ClaimRef = (u32, String, i32, Point, i64);

/// Takes a delivery's member out of `busy` when dropped.
struct Unbusy(Option<(Arc<Engine>, String)>);

impl Drop for Unbusy {
    fn drop(&mut self) {
        if let Some((engine, member)) = self.0.take()
            && let Ok(mut busy) = engine.busy.lock()
        {
            busy.remove(&member);
        }
    }
}

/// What happened to one delivery.
enum Outcome {
    Acked { held: Held, fired: DateTime<Utc> },
    Failed { held: Held, error: String },
}

/// The engine's shared state.
pub struct Engine {
    pool: PgPool,
    redis: redis::Client,
    schedule: Schedule,
    /// For replays, called from the API.
    peers: Peers,
    /// For deliveries, used only on the firing thread.
    firing_peers: Peers,
    calendars: Calendars,
    settings: Settings,
    held: Mutex<BTreeMap<(i64, String), Held>>,
    /// Events this replica is delivering or recording: a rebuild after Redis lost its data
    /// must not schedule them again, or they would fire twice.
    busy: Mutex<HashSet<String>>,
    fire_wake: Notify,
    claim_wake: Notify,
    in_flight: Arc<Semaphore>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl Engine {
    /// An engine over the service's pool, Redis and peers.
    pub fn new(
        pool: PgPool,
        redis: redis::Client,
        keys: Keys,
        peers: Peers,
        calendars: Calendars,
        settings: Settings,
    ) -> Arc<Self> {
        Arc::new(Self {
            pool,
            redis,
            schedule: Schedule::new(keys, settings.lease_ms),
            // Connections of their own, so that they live on the firing thread's runtime.
            firing_peers: peers.with_own_channels(),
            peers,
            calendars,
            settings,
            held: Mutex::default(),
            busy: Mutex::default(),
            fire_wake: Notify::new(),
            claim_wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// The Redis scripts, for the API's schedule changes.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Called when this replica scheduled an event due soon: claim without waiting.
    pub fn nudge(&self, at_ms: i64) {
        if at_ms <= now_ms() + LOOKAHEAD_MS {
            self.claim_wake.notify_one();
        }
    }

    /// All the engine's loops; returns when `shutdown` is cancelled.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let (tx, rx) = mpsc::unbounded_channel();
        // Dropping this future (a replica killed in tests) stops the firing thread too.
        let firing = shutdown.child_token();
        let _stop_firing = firing.clone().drop_guard();
        let firing_loop = async {
            loop {
                // Err: the thread ended without saying so, i.e. it panicked.
                let ended = self.clone().spawn_firing(tx.clone(), firing.clone()).await;
                if firing.is_cancelled() {
                    break;
                }
                // Else this replica would go on claiming events that nothing fires.
                tracing::error!(
                    panicked = ended.is_err(),
                    "the firing thread ended; starting it again"
                );
                tokio::time::sleep(StdDuration::from_secs(1)).await;
            }
            drop(tx);
        };
        tokio::join!(
            self.clone().claim_loop(shutdown.clone()),
            firing_loop,
            self.clone().completion_loop(rx, shutdown.clone()),
            self.clone().maintenance_loop(shutdown.clone()),
        );
    }

    /// Runs the firing loop and its deliveries on a thread and runtime of their own. On the
    /// shared runtime a due event waited behind whatever the workers were doing (decoding a
    /// claim pass, recording a batch, serving calls): up to tens of ms on 2 busy cores. A
    /// thread that mostly sleeps is run as soon as it wakes. Resolves when the loop ends.
    fn spawn_firing(
        self: Arc<Self>,
        out: mpsc::UnboundedSender<Outcome>,
        shutdown: CancellationToken,
    ) -> oneshot::Receiver<()> {
        let (done, ended) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("firing runtime");
        std::thread::Builder::new()
            .name("sla-firing".into())
            .spawn(move || {
                runtime.block_on(self.fire_loop(out, shutdown));
                // Deliveries still in flight end with the runtime, as in a stopped process;
                // their leases bring them back.
                runtime.shutdown_timeout(StdDuration::from_secs(1));
                let _ = done.send(());
            })
            .expect("firing thread");
        ended
    }

    async fn connect(&self) -> Option<ConnectionManager> {
        match schedule::connection_within(self.redis.clone(), schedule::ENGINE_REDIS_TIMEOUT).await
        {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "redis unavailable");
                None
            }
        }
    }

    // ---- claiming -------------------------------------------------------------------

    async fn claim_loop(self: Arc<Self>, shutdown: CancellationToken) {
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

    // ---- firing ---------------------------------------------------------------------

    async fn fire_loop(
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

    // ---- recording outcomes -----------------------------------------------------------

    async fn completion_loop(
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

    // ---- keeping Redis whole ------------------------------------------------------------

    async fn maintenance_loop(self: Arc<Self>, shutdown: CancellationToken) {
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
