//! Group commit for ScheduleTimer: concurrent calls queue their new timer here; a few
//! committer tasks each take everything queued so far and write it in a single INSERT and
//! a single commit, then add the events to Redis in one pipeline. Durable scheduling costs
//! one fsync per group rather than per timer, and while one group commits the next one
//! gathers and goes to another committer, so callers never wait for a whole queue of
//! commits ahead of them.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{self, Point},
    engine::Engine,
    schedule::Keys,
    store::{self, Scheduled, TimerRow},
};

/// The largest group written in one statement (binds stay far below Postgres' limit).
pub const MAX_GROUP: usize = 1000;

type Reply = oneshot::Sender<Result<Scheduled, String>>;

/// Queues timers for the next group commit.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<(TimerRow, Reply)>,
}

impl Batcher {
    /// The batcher and its `committers` tasks (run them all).
    pub fn new(
        pool: PgPool,
        engine: Arc<Engine>,
        redis: redis::Client,
        committers: usize,
        shutdown: CancellationToken,
    ) -> (Self, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::channel(16 * MAX_GROUP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let tasks = (0..committers.max(1)).map(move |_| {
            run(
                pool.clone(),
                engine.clone(),
                redis.clone(),
                rx.clone(),
                shutdown.clone(),
            )
        });
        (Self { tx }, async move {
            futures::future::join_all(tasks).await;
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
}

async fn run(
    pool: PgPool,
    engine: Arc<Engine>,
    redis: redis::Client,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<(TimerRow, Reply)>>>,
    shutdown: CancellationToken,
) {
    let mut conn: Option<redis::aio::ConnectionManager> = None;
    let finishing = Arc::new(tokio::sync::Semaphore::new(4));
    loop {
        // Gather a group while holding the queue; commit it after letting go, so the next
        // committer gathers the following group meanwhile.
        let group = {
            let mut rx = tokio::select! {
                rx = rx.lock() => rx,
                _ = shutdown.cancelled() => return,
            };
            let first = tokio::select! {
                item = rx.recv() => match item { Some(i) => i, None => return },
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
        match store::insert_batch(&pool, rows, false).await {
            Ok(results) => {
                if conn.is_none() {
                    conn = redis::aio::ConnectionManager::new(redis.clone()).await.ok();
                }
                // Redis and the answers go on in their own task, so this committer gathers
                // and commits the next group meanwhile; a few at most, so that a Redis that
                // hangs slows scheduling down instead of piling up groups in memory.
                let Ok(permit) = finishing.clone().acquire_owned().await else {
                    return;
                };
                let (engine, conn) = (engine.clone(), conn.clone());
                tokio::spawn(async move {
                    finish(engine, conn, results, replies).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                for reply in replies {
                    let _ = reply.send(Err("database unavailable".into()));
                }
            }
        }
    }
}

/// After a group committed: its new timers into the Redis schedule, then the answers.
async fn finish(
    engine: Arc<Engine>,
    conn: Option<redis::aio::ConnectionManager>,
    results: Vec<Scheduled>,
    replies: Vec<Reply>,
) {
    let created = results.iter().filter_map(|s| match s {
        Scheduled::Created(r) => Some(r),
        _ => None,
    });
    match conn {
        Some(mut c) => {
            if let Err(e) = add_to_schedule(&engine, &mut c, created).await {
                // Durable already: the reconciler restores these from Postgres.
                tracing::warn!(error = %e, "adding new timers to redis failed");
            }
        }
        None => tracing::warn!("redis unavailable; the reconciler will restore new timers"),
    }
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(Ok(result));
    }
}

/// Adds the next event of each (newly created or changed) scheduled timer to Redis.
pub async fn add_to_schedule<'a>(
    engine: &Engine,
    c: &mut redis::aio::ConnectionManager,
    rows: impl IntoIterator<Item = &'a TimerRow>,
) -> redis::RedisResult<()> {
    let events: Vec<(u32, String, i64)> = rows
        .into_iter()
        .filter(|r| r.state == "scheduled")
        .filter_map(|r| {
            let (p, at) = (r.next_point?, r.next_fire_at?);
            let id = r.id.to_string();
            Some((
                Keys::shard_of(&id),
                domain::delivery_id(&id, r.generation, Point::from_db(p)),
                at.timestamp_millis(),
            ))
        })
        .collect();
    engine.schedule().add(c, &events).await?;
    if let Some(earliest) = events.iter().map(|(_, _, at)| *at).min() {
        engine.nudge(earliest);
    }
    Ok(())
}
