//! The firing engine, one per replica, with no coordinator. It claims events due in the
//! next moments from the Redis shards (atomically, with a lease), holds them in memory and
//! wakes exactly at each due time, confirms the lease is still held (a cancel may have
//! come meanwhile), calls the owner's `TimerCallback`, and records the outcome in Postgres
//! in batches. A replica that dies mid-delivery leaves leases that expire and are reaped
//! back to `due`; a Redis that lost its data is rebuilt from Postgres.
//!
//! One file per loop: [`claim`] (Redis -> memory), [`firing`] (memory -> owner),
//! [`record`] (outcomes -> Postgres, then Redis) and [`upkeep`] (Redis rebuilt and kept
//! whole from Postgres). This file holds the engine's shared state and starts the loops.

mod claim;
mod firing;
mod record;
mod upkeep;

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration as StdDuration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};
use kit::client::Peers;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    calendars::Calendars,
    domain::Point,
    schedule::{self, Keys, Schedule},
    store::TimerRow,
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
}
