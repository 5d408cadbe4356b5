//! The transactional outbox (DESIGN §1). A state change writes its effects as rows in its
//! own transaction: domain events (published to Redis Streams) and commands to other
//! services (delivered over gRPC). The [`Dispatcher`] delivers them afterwards, at least
//! once, woken by LISTEN/NOTIFY with polling as fallback; several replicas share the work
//! through `FOR UPDATE SKIP LOCKED` and a claim lease, so a replica that dies mid-delivery
//! only delays its rows by the lease.

use std::{sync::Arc, time::Duration};

use aftersales_proto::aftersales::common::v1::EventEnvelope;
use bytes::Bytes;
use chrono::Utc;
use prost::Message;
use redis::aio::ConnectionManager;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tracing::Instrument;
use uuid::Uuid;

use crate::{client::Peers, telemetry};

/// The Redis stream a topic is published to.
pub fn stream_key(prefix: &str, topic: &str) -> String {
    format!("{prefix}events:{topic}")
}

/// The envelope of a domain event: CloudEvents-shaped, with the current trace context.
fn envelope<M: Message + prost::Name>(
    id: Uuid,
    source: &str,
    subject: &str,
    event: &M,
) -> (Vec<u8>, Option<String>) {
    let now = Utc::now();
    let traceparent = telemetry::current_traceparent();
    let envelope = EventEnvelope {
        id: id.to_string(),
        source: source.to_string(),
        spec_version: "1.0".into(),
        r#type: M::full_name(),
        subject: subject.to_string(),
        time: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: now.timestamp_subsec_nanos() as i32,
        }),
        traceparent: traceparent.clone().unwrap_or_default(),
        tracestate: String::new(),
        data_content_type: "application/protobuf".into(),
        data_schema: M::full_name(),
        data: event.encode_to_vec(),
    };
    (envelope.encode_to_vec(), traceparent)
}

/// Writes a domain event in `tx`, returning the event id. `topic` is the stream (by
/// convention the publishing service's name), `subject` the resource (`returns/42`).
pub async fn publish_event<M: Message + prost::Name>(
    tx: &mut PgConnection,
    source: &str,
    topic: &str,
    subject: &str,
    event: &M,
) -> Result<Uuid, sqlx::Error> {
    let mut batch = Batch::default();
    let id = batch.event(source, topic, subject, event);
    batch.flush(tx).await?;
    Ok(id)
}

/// Outbox rows collected during a transition and written with one statement, so a
/// change that causes five effects costs one round trip, not five.
#[derive(Debug, Default)]
pub struct Batch {
    kinds: Vec<&'static str>,
    topics: Vec<String>,
    methods: Vec<Option<String>>,
    keys: Vec<String>,
    payloads: Vec<Vec<u8>>,
    traceparents: Vec<Option<String>>,
}

impl Batch {
    /// Adds a domain event (see [`publish_event`]); returns its id.
    pub fn event<M: Message + prost::Name>(
        &mut self,
        source: &str,
        topic: &str,
        subject: &str,
        event: &M,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let (payload, traceparent) = envelope(id, source, subject, event);
        self.push("event", topic, None, id.to_string(), payload, traceparent);
        id
    }

    /// Adds a command (see [`send_command`]); a key already queued is skipped at flush.
    pub fn command<M: Message>(&mut self, target: &str, method: &str, key: &str, request: &M) {
        let payload = request.encode_to_vec();
        self.push(
            "command",
            target,
            Some(method.to_string()),
            key.to_string(),
            payload,
            telemetry::current_traceparent(),
        );
    }

    fn push(
        &mut self,
        kind: &'static str,
        topic: &str,
        method: Option<String>,
        key: String,
        payload: Vec<u8>,
        traceparent: Option<String>,
    ) {
        self.kinds.push(kind);
        self.topics.push(topic.to_string());
        self.methods.push(method);
        self.keys.push(key);
        self.payloads.push(payload);
        self.traceparents.push(traceparent);
    }

    /// Writes every row in `tx` (nothing when empty).
    pub async fn flush(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO outbox (kind, topic, method, key, payload, traceparent) {}
             ON CONFLICT ON CONSTRAINT outbox_key_unique DO NOTHING",
            Self::rows_sql(1)
        );
        self.bind(sqlx::query(&sql)).execute(&mut *tx).await?;
        Ok(())
    }

    /// `SELECT * FROM unnest(...)` of the rows, with parameters `$first` to `$first + 5`,
    /// for a caller that inserts them as part of a larger statement (then [`Batch::bind`]).
    pub fn rows_sql(first: usize) -> String {
        let p = |i: usize| first + i;
        format!(
            "SELECT * FROM unnest(${}::text[], ${}::text[], ${}::text[], ${}::text[], ${}::bytea[], ${}::text[])",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4),
            p(5)
        )
    }

    /// Binds the six columns of [`Batch::rows_sql`], in order.
    pub fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        q.bind(self.kinds)
            .bind(self.topics)
            .bind(self.methods)
            .bind(self.keys)
            .bind(self.payloads)
            .bind(self.traceparents)
    }
}

/// Writes a command to `target` (a peer service name, resolved from `<TARGET>_URL`) calling
/// `method` (full gRPC path) with `request`. `key` must be deterministic for the effect
/// (e.g. `returns/42:refund`) and is also what the request's own `request_id` should be
/// derived from, so the receiver applies it once however often it is delivered. A second
/// command with the same key is ignored (returns false).
pub async fn send_command<M: Message>(
    tx: &mut PgConnection,
    target: &str,
    method: &str,
    key: &str,
    request: &M,
) -> Result<bool, sqlx::Error> {
    let rows = sqlx::query(
        "INSERT INTO outbox (kind, topic, method, key, payload, traceparent)
         VALUES ('command', $1, $2, $3, $4, $5) ON CONFLICT ON CONSTRAINT outbox_key_unique DO NOTHING",
    )
    .bind(target)
    .bind(method)
    .bind(key)
    .bind(request.encode_to_vec())
    .bind(telemetry::current_traceparent())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// A deterministic UUID for an idempotency key, to fill a command's `request_id`.
pub fn request_id_for(key: &str) -> String {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

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

/// Marks every event published since `since` for publication again, e.g. after Redis lost
/// its data; consumers deduplicate by event id. Returns how many were re-queued.
pub async fn refill_streams(
    pool: &PgPool,
    since: chrono::DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE outbox SET delivered_at = NULL, available_at = now() WHERE kind = 'event' AND created_at >= $1",
    )
    .bind(since)
    .execute(pool)
    .await?
    .rows_affected())
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
