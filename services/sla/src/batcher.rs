//! Group commit for ScheduleTimer: concurrent calls queue their new timer here; a
//! committer task takes everything queued so far and writes it in a single COPY and a
//! single commit, answers the callers, and hands the new timers to a Redis task. Durable
//! scheduling costs one fsync per group rather than per timer.
//!
//! The committers run on the writer thread ([`crate::writer`]).
//!
//! A caller is answered once its timer is committed: Postgres is the truth, and a timer
//! whose Redis entry is late or lost is restored from it (`Engine`'s straggler pass), so
//! waiting for Redis too would only lengthen every call. The Redis task adds the timers a
//! pipeline at a time, and what arrives meanwhile goes into the next one. Timers due well
//! ahead (most are: hours or days) wait up to [`REDIS_LINGER`] for company, so that one
//! `ZADD` per shard carries many groups; BatchScheduleTimers' batches go the same way.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use sqlx::{PgPool, Postgres, pool::PoolConnection};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::Point,
    engine::Engine,
    schedule::{self, Event},
    store::{self, Scheduled, TimerRow},
    writer::Writer,
};

/// The largest group written in one statement (binds stay far below Postgres' limit).
pub const MAX_GROUP: usize = 1000;

/// Committed timers waiting for Redis. Beyond this the Redis task is not keeping up
/// (Redis down or hung for seconds): further timers are left to the straggler pass, which
/// restores them from Postgres once overdue, rather than piling up in memory.
const REDIS_BACKLOG: usize = 200_000;

/// How long the Redis task holds events that are all due beyond
/// [`schedule::ADD_NEW_FAR_MS`] (10 s), to add them with more in one pipeline. Redis's
/// cost is mostly per command: at 50 timers per group, a `ZADD` per shard carried about
/// three members each. Such an event is claimed no earlier than 1.5 s before it is due, so
/// adding it 20 ms later changes nothing; an event due sooner ends the wait at once.
const REDIS_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// How long a committer with nothing to commit keeps its connection (see [`run`]).
const KEEP_IDLE_CONNECTION: std::time::Duration = std::time::Duration::from_secs(1);

/// The most events in one Redis pipeline.
const REDIS_PIPELINE_MAX: usize = 16 * MAX_GROUP;

type Reply = oneshot::Sender<Result<Scheduled, String>>;

/// Queues timers for the next group commit.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<(TimerRow, Reply)>,
    backlog: Backlog,
}

impl Batcher {
    /// The batcher and its tasks: `committers` group commits in flight at once, on the
    /// writer thread, and the Redis task (run the future to completion; it ends once the
    /// committers have and every `Batcher` handle is dropped).
    pub fn new(
        writer: Writer,
        engine: Arc<Engine>,
        redis: redis::Client,
        committers: usize,
        shutdown: CancellationToken,
    ) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::channel(16 * MAX_GROUP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let backlog = Backlog {
            tx: events_tx,
            len: Default::default(),
        };
        let waiting = backlog.len.clone();
        let committers: Vec<_> = (0..committers.max(1))
            .map(|_| {
                let (rx, backlog, shutdown) = (rx.clone(), backlog.clone(), shutdown.clone());
                writer.spawn(move |pool| run(pool, rx, backlog, shutdown))
            })
            .collect();
        (Self { tx, backlog }, async move {
            let (ended, ()) = futures::future::join(
                futures::future::join_all(committers),
                add_to_redis(engine, redis, events_rx, waiting),
            )
            .await;
            // (A committer cancelled because the writer thread ended is a replica stopping.)
            if ended
                .iter()
                .any(|e| e.as_ref().is_err_and(|e| e.is_panic()))
            {
                tracing::error!("a group committer panicked");
            }
        })
    }

    /// Schedules one timer.
    pub async fn submit(&self, row: TimerRow) -> Result<Scheduled, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((row, reply))
            .await
            .map_err(|_| "scheduler stopped".to_string())?;
        rx.await.map_err(|_| "scheduler stopped".to_string())?
    }

    /// Hands timers committed elsewhere (BatchScheduleTimers) to the Redis task, as the
    /// group commits do with theirs: the caller does not wait for Redis.
    pub fn add_created<'a>(&self, rows: impl IntoIterator<Item = &'a TimerRow>) {
        self.backlog.push(events_of(rows));
    }
}

/// The writers' side of the Redis task's queue, bounded in events.
#[derive(Clone)]
struct Backlog {
    tx: mpsc::UnboundedSender<Vec<Event>>,
    /// Events queued and not yet added.
    len: Arc<AtomicUsize>,
}

impl Backlog {
    /// Queues `events` for Redis. When the backlog is full they are left to the straggler
    /// pass, which restores them from Postgres (they are durable already).
    fn push(&self, events: Vec<Event>) {
        let n = events.len();
        if n == 0 {
            return;
        }
        if self.len.fetch_add(n, Ordering::Relaxed) + n > REDIS_BACKLOG
            || self.tx.send(events).is_err()
        {
            self.len.fetch_sub(n, Ordering::Relaxed);
            metrics::counter!("sla_redis_backlog_dropped_total").increment(n as u64);
            tracing::warn!(timers = n, "redis backlog full; left to the straggler pass");
        }
    }
}

async fn run(
    pool: PgPool,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<(TimerRow, Reply)>>>,
    backlog: Backlog,
    shutdown: CancellationToken,
) {
    // The committer keeps its connection while groups keep coming (with pauses of less than
    // KEEP_IDLE_CONNECTION), so that they all go to one warm backend. Taken from the pool
    // for each group, a connection's release (a task of its own) trailed the next acquire,
    // so the pool opened more and the groups rotated over three backends per replica.
    let mut conn: Option<PoolConnection<Postgres>> = None;
    let mut last_used = std::time::Instant::now();
    loop {
        // Gather a group while holding the queue; commit it after letting go, so that
        // another committer (if configured) gathers the following group meanwhile.
        let group = {
            let mut rx = tokio::select! {
                rx = rx.lock() => rx,
                _ = shutdown.cancelled() => return,
            };
            let first = tokio::select! {
                item = tokio::time::timeout(KEEP_IDLE_CONNECTION, rx.recv()) => match item {
                    Ok(Some(i)) => i,
                    Ok(None) => return,
                    Err(_) => {
                        // Idle: back to the pool, which checks a connection idle for a
                        // while before handing it out again.
                        conn = None;
                        tokio::select! {
                            item = rx.recv() => match item { Some(i) => i, None => return },
                            _ = shutdown.cancelled() => return,
                        }
                    }
                },
                _ = shutdown.cancelled() => return,
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(i) => group.push(i),
                    Err(_) => break,
                }
            }
            group
        };
        let (rows, replies): (Vec<TimerRow>, Vec<Reply>) = group.into_iter().unzip();
        metrics::histogram!("sla_schedule_group_size").record(rows.len() as f64);
        let held = match conn.take() {
            // Held idle for a while (another committer had the queue): check it first, as
            // the pool checks a connection idle that long.
            Some(mut c) if last_used.elapsed() >= KEEP_IDLE_CONNECTION => {
                sqlx::Connection::ping(&mut *c).await.is_ok().then_some(c)
            }
            held => held,
        };
        let mut c = match held {
            Some(c) => c,
            None => match pool.acquire().await {
                Ok(c) => c,
                Err(e) => {
                    fail(replies, &e);
                    continue;
                }
            },
        };
        let started = std::time::Instant::now();
        let written = store::insert_batch(&mut c, rows, false).await;
        last_used = std::time::Instant::now();
        metrics::histogram!("sla_group_commit_seconds")
            .record(last_used.duration_since(started).as_secs_f64());
        match written {
            Ok(results) => {
                conn = Some(c);
                backlog.push(events_of(results.iter().filter_map(Scheduled::created)));
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            // The connection goes back to the pool (which closes it if it broke).
            Err(e) => fail(replies, &e),
        }
    }
}

/// Answers a group whose commit failed.
fn fail(replies: Vec<Reply>, e: &sqlx::Error) {
    tracing::error!(error = %e, "group commit failed");
    for reply in replies {
        let _ = reply.send(Err("database unavailable".into()));
    }
}

/// The Redis task: adds committed timers' events, everything that arrived since the last
/// pipeline in the next one, and while all are due far ahead, what arrives within
/// [`REDIS_LINGER`] too. Ends when every sender has.
async fn add_to_redis(
    engine: Arc<Engine>,
    redis: redis::Client,
    mut rx: mpsc::UnboundedReceiver<Vec<Event>>,
    waiting: Arc<AtomicUsize>,
) {
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    while let Some(mut events) = rx.recv().await {
        let until = tokio::time::Instant::now() + REDIS_LINGER;
        let mut far = all_far(&events);
        while events.len() < REDIS_PIPELINE_MAX {
            let more = match rx.try_recv() {
                Ok(more) => more,
                Err(_) if !far => break,
                Err(_) => match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(more)) => more,
                    Ok(None) | Err(_) => break, // the senders are gone, or the wait is over
                },
            };
            far = far && all_far(&more);
            events.extend(more);
        }
        // One retry: the connection manager reconnects after a dropped connection.
        let mut added = false;
        for _ in 0..2 {
            if conn.is_none() {
                conn = schedule::bounded_connection(redis.clone()).await.ok();
            }
            let Some(c) = conn.as_mut() else { continue };
            match add_events(&engine, c, &events, true).await {
                Ok(()) => {
                    added = true;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "adding new timers to redis failed");
                    if schedule::replace_connection_after(&e) {
                        conn = None;
                    }
                }
            }
        }
        if !added {
            metrics::counter!("sla_redis_backlog_dropped_total").increment(events.len() as u64);
            tracing::warn!(timers = events.len(), "left to the straggler pass");
        }
        waiting.fetch_sub(events.len(), Ordering::Relaxed);
    }
}

/// True when every event is due beyond [`schedule::ADD_NEW_FAR_MS`] from now, so that
/// adding them a moment later cannot make one late.
fn all_far(events: &[Event]) -> bool {
    let far_from = chrono::Utc::now().timestamp_millis() + schedule::ADD_NEW_FAR_MS;
    events.iter().all(|(_, _, at)| *at > far_from)
}

/// The Redis events of scheduled timers: each one's next event.
fn events_of<'a>(rows: impl IntoIterator<Item = &'a TimerRow>) -> Vec<Event> {
    rows.into_iter()
        .filter(|r| r.state == "scheduled")
        .filter_map(|r| {
            let (p, at) = (r.next_point?, r.next_fire_at?);
            Some(schedule::event(r.id, r.generation, Point::from_db(p), at))
        })
        .collect()
}

/// Adds events to the Redis schedule (`new`: of newly created timers, see
/// [`crate::schedule::Schedule::add_new`]) and wakes the engine if one is due before what
/// it holds.
async fn add_events(
    engine: &Engine,
    c: &mut redis::aio::ConnectionManager,
    events: &[Event],
    new: bool,
) -> redis::RedisResult<()> {
    if new {
        engine.schedule().add_new(c, events).await?;
    } else {
        engine.schedule().add(c, events).await?;
    }
    if let Some(earliest) = events.iter().map(|(_, _, at)| *at).min() {
        engine.nudge(earliest);
    }
    Ok(())
}

/// Adds the next event of each changed (resumed, rescheduled, replayed) timer to Redis.
pub async fn add_to_schedule<'a>(
    engine: &Engine,
    c: &mut redis::aio::ConnectionManager,
    rows: impl IntoIterator<Item = &'a TimerRow>,
) -> redis::RedisResult<()> {
    add_events(engine, c, &events_of(rows), false).await
}
