//! The dispatcher: claims undelivered outbox rows (oldest first, leased, `SKIP LOCKED`
//! across replicas), publishes events to Redis Streams and calls commands over gRPC,
//! retrying with backoff and parking a command that cannot succeed as dead.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use redis::aio::ConnectionManager;
use sqlx::{PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tracing::Instrument;

use super::stream_key;
use crate::{client::Peers, telemetry};

/// What became of one command.
enum Sent {
    Delivered(i64),
    Dead,
    Retry(Duration),
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    topic: String,
    method: Option<String>,
    key: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    attempts: i32,
}

/// Delivers outbox rows. One per replica; they cooperate through row locks.
pub struct Dispatcher {
    pool: PgPool,
    schema: String,
    redis_prefix: String,
    redis: redis::Client,
    peers: Peers,
    poll: Duration,
    retention: Duration,
    /// How long a claimed row stays invisible to other replicas.
    lease: Duration,
    /// Attempts before a command is parked as dead (events retry forever: Redis comes back).
    max_attempts: i32,
}

const BATCH: i64 = 200;

/// The dispatcher's claim: up to `$1` of the oldest rows due, leased for `$2` seconds
/// (public so that a test can check its plan stays off the delivered rows).
pub const CLAIM: &str =
    "UPDATE outbox SET available_at = now() + make_interval(secs => $2), attempts = attempts + 1
     WHERE id IN (
         SELECT id FROM outbox
         WHERE delivered_at IS NULL AND dead_at IS NULL AND available_at <= now()
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, topic, method, key, payload, traceparent, attempts";

/// How long a woken dispatcher waits for more rows before a pass.
const LINGER: Duration = Duration::from_millis(5);

impl Dispatcher {
    /// A dispatcher for the outbox in `schema`.
    pub fn new(
        pool: PgPool,
        schema: &str,
        redis: redis::Client,
        redis_prefix: &str,
        peers: Peers,
        poll: Duration,
        retention: Duration,
    ) -> Self {
        Self {
            pool,
            schema: schema.to_string(),
            redis_prefix: redis_prefix.to_string(),
            redis,
            peers,
            poll,
            retention,
            lease: Duration::from_secs(30),
            max_attempts: 20,
        }
    }

    /// Runs until `shutdown`: deliver everything due, then sleep until NOTIFY or the poll.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut listener = this.listen().await;
        let mut redis: Option<ConnectionManager> = None;
        let mut last_purge = std::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match this.deliver_batch(&mut redis).await {
                Ok(n) if n as i64 == BATCH => continue, // more may be waiting
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox delivery pass failed"),
            }
            if last_purge.elapsed() > Duration::from_secs(60) {
                last_purge = std::time::Instant::now();
                if let Err(e) = this.purge().await {
                    tracing::warn!(error = %e, "outbox purge failed");
                }
            }
            let wait = async {
                match listener.as_mut() {
                    Some(l) => match tokio::time::timeout(this.poll, l.recv()).await {
                        Ok(Err(_)) => false, // connection lost: poll until re-listened
                        _ => true,
                    },
                    None => {
                        tokio::time::sleep(this.poll).await;
                        true
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                ok = wait => if !ok || listener.is_none() { listener = this.listen().await; },
            }
            // Woken by a commit: linger a moment so the rows of the transactions committing
            // alongside it go in the same pass. Under load this turns one claim and one
            // delivered-mark commit per transaction into one per batch.
            tokio::time::sleep(LINGER).await;
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut l = PgListener::connect_with(&self.pool).await.ok()?;
        l.listen(&format!("{}_outbox", self.schema)).await.ok()?;
        Some(l)
    }

    /// Claims and delivers one batch; returns how many rows it claimed.
    pub async fn deliver_batch(
        &self,
        redis: &mut Option<ConnectionManager>,
    ) -> anyhow::Result<usize> {
        let rows: Vec<Row> = sqlx::query_as(CLAIM)
            .bind(BATCH)
            .bind(self.lease.as_secs_f64())
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // RETURNING gives no order: restore the outbox's (commit) order.
        let mut rows = rows;
        rows.sort_by_key(|r| r.id);
        let n = rows.len();
        let (events, commands): (Vec<Row>, Vec<Row>) =
            rows.into_iter().partition(|r| r.kind == "event");
        if !events.is_empty() {
            self.publish_events(redis, events).await?;
        }
        // Commands to one target go in id order (a cancel never overtakes its schedule);
        // targets are called concurrently. Successes are marked in one statement: one
        // commit per batch instead of one per command.
        let mut by_target: std::collections::BTreeMap<String, Vec<Row>> = Default::default();
        for row in commands {
            by_target.entry(row.topic.clone()).or_default().push(row);
        }
        let delivered: Vec<Vec<i64>> =
            futures::future::try_join_all(by_target.into_values().map(|rows| async move {
                let mut ok = Vec::new();
                let mut rows = rows.into_iter();
                while let Some(row) = rows.next() {
                    match self.deliver_command(row).await? {
                        Sent::Delivered(id) => ok.push(id),
                        Sent::Dead => {}
                        // The target failed: what follows for it waits as long, so a later
                        // command (a cancel) never overtakes an earlier one (its schedule).
                        Sent::Retry(after) => {
                            let rest: Vec<i64> = rows.map(|r| r.id).collect();
                            self.postpone(&rest, after).await?;
                            break;
                        }
                    }
                }
                anyhow::Ok(ok)
            }))
            .await?;
        let ids: Vec<i64> = delivered.into_iter().flatten().collect();
        if !ids.is_empty() {
            sqlx::query(
                "UPDATE outbox SET delivered_at = now(), last_error = NULL WHERE id = ANY($1)",
            )
            .bind(&ids)
            .execute(&self.pool)
            .await?;
            metrics::counter!("outbox_delivered_total", "kind" => "command")
                .increment(ids.len() as u64);
        }
        Ok(n)
    }

    async fn publish_events(
        &self,
        redis: &mut Option<ConnectionManager>,
        events: Vec<Row>,
    ) -> anyhow::Result<()> {
        let ids: Vec<i64> = events.iter().map(|r| r.id).collect();
        let result = async {
            if redis.is_none() {
                *redis = Some(ConnectionManager::new(self.redis.clone()).await?);
            }
            let conn = redis.as_mut().expect("just set");
            let mut pipe = redis::pipe();
            for r in &events {
                pipe.cmd("XADD")
                    .arg(stream_key(&self.redis_prefix, &r.topic))
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(1_000_000)
                    .arg("*")
                    .arg("id")
                    .arg(&r.key)
                    .arg("envelope")
                    .arg(&r.payload)
                    .ignore();
            }
            pipe.query_async::<()>(conn).await?;
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                sqlx::query(
                    "UPDATE outbox SET delivered_at = now(), last_error = NULL WHERE id = ANY($1)",
                )
                .bind(&ids)
                .execute(&self.pool)
                .await?;
                metrics::counter!("outbox_delivered_total", "kind" => "event")
                    .increment(ids.len() as u64);
            }
            Err(e) => {
                *redis = None;
                let attempts = events.iter().map(|r| r.attempts).max().unwrap_or(1);
                sqlx::query(
                    "UPDATE outbox SET available_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = ANY($1)",
                )
                .bind(&ids)
                .bind(backoff(attempts).as_secs_f64())
                .bind(e.to_string())
                .execute(&self.pool)
                .await?;
                metrics::counter!("outbox_failed_total", "kind" => "event")
                    .increment(ids.len() as u64);
                tracing::warn!(error = %e, count = ids.len(), "publishing events failed; will retry");
            }
        }
        Ok(())
    }

    /// Puts claimed rows back, unattempted, to be tried `after` from now.
    async fn postpone(&self, ids: &[i64], after: Duration) -> anyhow::Result<()> {
        if !ids.is_empty() {
            sqlx::query(
                "UPDATE outbox SET available_at = now() + make_interval(secs => $2), attempts = attempts - 1 WHERE id = ANY($1)",
            )
            .bind(ids)
            .bind(after.as_secs_f64())
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Calls the target; the caller marks a delivered row, a failure is recorded here.
    async fn deliver_command(&self, row: Row) -> anyhow::Result<Sent> {
        let method = row.method.clone().unwrap_or_default();
        let span = tracing::info_span!("outbox.command", target = %row.topic, %method, key = %row.key, attempt = row.attempts);
        telemetry::adopt_traceparent(&span, row.traceparent.as_deref());
        let result = self
            .peers
            .call_raw(&row.topic, &method, Bytes::from(row.payload), &row.key)
            .instrument(span.clone())
            .await;
        let _enter = span.enter();
        match result {
            // ALREADY_EXISTS: the receiver had applied it already; that is success here.
            Ok(_) => Ok(Sent::Delivered(row.id)),
            Err(s) if s.code() == Code::AlreadyExists => Ok(Sent::Delivered(row.id)),
            Err(s) if is_permanent(s.code()) || row.attempts >= self.max_attempts => {
                tracing::error!(code = ?s.code(), message = s.message(), "command parked as dead");
                sqlx::query("UPDATE outbox SET dead_at = now(), last_error = $2 WHERE id = $1")
                    .bind(row.id)
                    .bind(format!("{:?}: {}", s.code(), s.message()))
                    .execute(&self.pool)
                    .await?;
                metrics::counter!("outbox_dead_total", "target" => row.topic.clone()).increment(1);
                Ok(Sent::Dead)
            }
            Err(s) => {
                tracing::warn!(code = ?s.code(), message = s.message(), "command delivery failed; will retry");
                sqlx::query(
                    "UPDATE outbox SET available_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1",
                )
                .bind(row.id)
                .bind(backoff(row.attempts).as_secs_f64())
                .bind(format!("{:?}: {}", s.code(), s.message()))
                .execute(&self.pool)
                .await?;
                metrics::counter!("outbox_failed_total", "kind" => "command").increment(1);
                Ok(Sent::Retry(backoff(row.attempts)))
            }
        }
    }

    async fn purge(&self) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM outbox WHERE delivered_at < now() - make_interval(secs => $1)")
            .bind(self.retention.as_secs_f64())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Errors that retrying cannot fix.
fn is_permanent(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::NotFound
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::Unimplemented
            | Code::OutOfRange
    )
}

/// Exponential backoff from 1 s, capped at 5 min, with jitter so replicas spread out.
fn backoff(attempt: i32) -> Duration {
    let base = 1u64 << attempt.clamp(0, 8) as u32;
    let jitter = rand::random::<u64>() % 1000;
    Duration::from_millis((base * 1000).min(300_000) + jitter)
}
