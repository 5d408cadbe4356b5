//! The transactional outbox (DESIGN §1). A state change writes its effects as rows in its
//! own transaction: domain events (published to Redis Streams) and commands to other
//! services (delivered over gRPC). The [`Dispatcher`] delivers them afterwards, at least
//! once, woken by LISTEN/NOTIFY with polling as fallback; several replicas share the work
//! through `FOR UPDATE SKIP LOCKED` and a claim lease, so a replica that dies mid-delivery
//! only delays its rows by the lease.
//!
//! This file holds the write side (rows queued in the caller's transaction);
//! [`dispatch`] delivers them.

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole, EventEnvelope},
    platform::v1::SendRequest,
};
use chrono::Utc;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::telemetry;

mod dispatch;

/// The platform Notifier's method, as an outbox command names it.
const NOTIFIER_SEND: &str = "/aftersales.platform.v1.Notifier/Send";

pub use dispatch::{CLAIM, Dispatcher};

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

    /// Adds a notification through the platform's Notifier, once per `key` (the key is
    /// its idempotency key too, so a replayed step tells nobody twice): `to` is the
    /// recipient's role and id.
    pub fn notify(
        &mut self,
        key: &str,
        to: (ActorRole, &str),
        template: &str,
        params: impl IntoIterator<Item = (String, String)>,
    ) {
        let req = SendRequest {
            notification_id: request_id_for(key),
            recipient: Some(Actor {
                role: to.0 as i32,
                id: to.1.to_string(),
            }),
            template: template.into(),
            params: params.into_iter().collect(),
            ..Default::default()
        };
        self.command("platform", NOTIFIER_SEND, key, &req);
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
