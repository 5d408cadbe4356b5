//! The complaints schema: the only file that knows table names. Writes take the caller's
//! transaction so a transition, its audit row and its outbox rows commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};
use uuid::Uuid;

use kit::{db::ResultExt, idempotency::Answered, outbox::Batch};

use crate::domain::{kinds::State, ticket::Ticket};

pub mod surge;

/// The partial unique index that keeps one ticket per dispute.
const ONE_PER_DISPUTE: &str = "complaints_one_per_dispute";

/// Why an insert was refused by the database's own rules.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The dispute already has its ticket.
    #[error("the dispute already has a ticket")]
    DisputeTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The next ticket sequence number.
pub async fn next_number(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT nextval('ticket_seq')")
        .fetch_one(&mut *conn)
        .await
}

fn due_first(t: &Ticket) -> Option<DateTime<Utc>> {
    t.clocks.iter().filter_map(|k| k.due).min()
}

/// Writes a new ticket in one statement (one round trip; on its own, one implicit
/// transaction): the ticket, its first audit row and its outbox rows, all conditional on
/// `claim` when there is one (a duplicate `request_id` writes nothing: false). A second
/// ticket for one dispute is [`WriteError::DisputeTaken`].
pub async fn create(
    conn: &mut PgConnection,
    t: &Ticket,
    audit: &kit::audit::Write<'_>,
    claim: Option<Answered<'_>>,
    outbox: Batch,
) -> Result<bool, WriteError> {
    let (c, rows) = match claim {
        Some(_) => (Answered::insert_sql(21), Batch::rows_sql(26)),
        None => ("SELECT 1".to_string(), Batch::rows_sql(21)),
    };
    let sql = format!(
        "WITH c AS ({c}),
         t AS (
             INSERT INTO complaints (id, number, state, buyer_id, merchant_id, owner_id,
                 order_id, subject_case, priority, channel, category, region, due_time,
                 create_time, update_time, ticket)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15
             FROM c RETURNING id),
         a AS (
             INSERT INTO audit (case_id, actor_role, actor_id, from_state, to_state,
                 action, reason, request_id)
             SELECT id, $16, $17, NULL, $3, $18, $19, $20 FROM t),
         o AS (
             INSERT INTO outbox (kind, topic, method, key, payload, traceparent)
             SELECT rows.* FROM ({rows}) AS rows, c
             ON CONFLICT ON CONSTRAINT outbox_key_unique DO NOTHING)
         SELECT count(*) FROM c"
    );
    let q = sqlx::query(&sql)
        .bind(t.id)
        .bind(&t.number)
        .bind(t.state as i16)
        .bind(&t.buyer_id)
        .bind(&t.merchant_id)
        .bind(&t.owner)
        .bind(&t.order_id)
        .bind(&t.subject_case)
        .bind(t.priority as i16)
        .bind(t.channel as i16)
        .bind(&t.category)
        .bind(&t.region)
        .bind(due_first(t))
        .bind(t.created)
        .bind(Json(t))
        .bind(audit.actor.0)
        .bind(audit.actor.1)
        .bind(audit.action)
        .bind(audit.reason)
        .bind(audit.request_id);
    let q = match claim {
        Some(claim) => claim.bind(q),
        None => q,
    };
    let row = outbox
        .bind(q)
        .fetch_one(&mut *conn)
        .await
        .on_constraint(ONE_PER_DISPUTE, || WriteError::DisputeTaken)?;
    let fresh: i64 = sqlx::Row::try_get(&row, 0)?;
    Ok(fresh == 1)
}

/// Stores a changed ticket.
pub async fn update(tx: &mut PgConnection, t: &Ticket) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE complaints SET state = $2, owner_id = $3, due_time = $4, update_time = $5,
             ticket = $6 WHERE id = $1",
    )
    .bind(t.id)
    .bind(t.state as i16)
    .bind(&t.owner)
    .bind(due_first(t))
    .bind(t.updated)
    .bind(Json(t))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A ticket, unlocked.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Ticket>, sqlx::Error> {
    let row: Option<(Json<Ticket>,)> =
        sqlx::query_as("SELECT ticket FROM complaints WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|r| r.0.0))
}

/// A ticket by its number.
pub async fn by_number(pool: &PgPool, number: &str) -> Result<Option<Ticket>, sqlx::Error> {
    let row: Option<(Json<Ticket>,)> =
        sqlx::query_as("SELECT ticket FROM complaints WHERE number = $1")
            .bind(number)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|r| r.0.0))
}

/// A ticket locked for a transition (`FOR UPDATE`: concurrent steps serialise on it).
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<Ticket>, sqlx::Error> {
    let row: Option<(Json<Ticket>,)> =
        sqlx::query_as("SELECT ticket FROM complaints WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(row.map(|r| r.0.0))
}

/// A list query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub buyer_id: Option<String>,
    pub merchant_id: Option<String>,
    pub owner_id: Option<String>,
    /// The claim queue: tickets nobody owns.
    pub unowned: bool,
    pub order_id: Option<String>,
    pub subject_case: Option<String>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub priority: Option<i16>,
    pub channel: Option<i16>,
    pub states: Vec<i16>,
}

/// A page of tickets, newest first, from below `after`.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let mut q: QueryBuilder<'_, Postgres> =
        QueryBuilder::new("SELECT ticket FROM complaints WHERE true");
    for (col, v) in [
        ("buyer_id", &f.buyer_id),
        ("merchant_id", &f.merchant_id),
        ("owner_id", &f.owner_id),
        ("order_id", &f.order_id),
        ("subject_case", &f.subject_case),
        ("category", &f.category),
        ("region", &f.region),
    ] {
        if let Some(v) = v {
            q.push(format!(" AND {col} = ")).push_bind(v.clone());
        }
    }
    if f.unowned {
        q.push(" AND owner_id IS NULL");
    }
    if let Some(p) = f.priority {
        q.push(" AND priority = ").push_bind(p);
    }
    if let Some(c) = f.channel {
        q.push(" AND channel = ").push_bind(c);
    }
    if !f.states.is_empty() {
        q.push(" AND state = ANY(")
            .push_bind(f.states.clone())
            .push(")");
    }
    if let Some(id) = after {
        q.push(" AND id < ").push_bind(id);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    let rows: Vec<(Json<Ticket>,)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.0.0).collect())
}

/// Tickets that may count in `[from, to)`: created before its end and touched since its
/// start (a superset; `domain::stats` decides what counts).
pub async fn touched_in(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    region: Option<&str>,
    category: Option<&str>,
    merchant: Option<&str>,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let rows: Vec<(Json<Ticket>,)> = sqlx::query_as(
        "SELECT ticket FROM complaints
         WHERE create_time < $2 AND update_time >= $1
           AND ($3::text IS NULL OR region = $3) AND ($4::text IS NULL OR category = $4)
           AND ($5::text IS NULL OR merchant_id = $5)",
    )
    .bind(from)
    .bind(to)
    .bind(region)
    .bind(category)
    .bind(merchant)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0.0).collect())
}

/// A page of closed tickets, newest first, optionally of one category and closed in
/// `[from, to)`.
pub async fn closed_page(
    pool: &PgPool,
    category: Option<&str>,
    within: Option<(DateTime<Utc>, DateTime<Utc>)>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let rows: Vec<(Json<Ticket>,)> = sqlx::query_as(
        "SELECT ticket FROM complaints
         WHERE state = $1 AND ($2::text IS NULL OR category = $2)
           AND ($3::timestamptz IS NULL OR (ticket->>'closed')::timestamptz >= $3)
           AND ($4::timestamptz IS NULL OR (ticket->>'closed')::timestamptz < $4)
           AND ($5::uuid IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $6",
    )
    .bind(State::Closed as i16)
    .bind(category)
    .bind(within.map(|w| w.0))
    .bind(within.map(|w| w.1))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.0.0).collect())
}
