//! The repairs schema: the only file that knows table names. Writes take the caller's
//! connection or transaction so a transition, its audit row and its outbox rows commit
//! together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};
use uuid::Uuid;

use kit::{db::ResultExt, idempotency::Answered, outbox::Batch};

use crate::domain::repair::Repair;

/// The partial unique index that keeps one open repair per order line.
const ONE_OPEN_PER_LINE: &str = "repairs_one_open_per_line";

/// Why a write was refused by the database's own rules.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The line already has an open repair.
    #[error("the order line already has an open repair")]
    LineOpen,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The next repair number's sequence value.
pub async fn next_number(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT nextval('repair_seq')")
        .fetch_one(&mut *conn)
        .await
}

fn due_first(r: &Repair) -> Option<DateTime<Utc>> {
    r.clocks.iter().map(|k| k.due).min()
}

/// Writes a new repair in one statement (one round trip, one implicit transaction):
/// its idempotency claim with the answer, the repair, its first audit row and its outbox
/// rows, all conditional on the claim (a duplicate `request_id` writes nothing: false).
/// A second open repair of the line is [`WriteError::LineOpen`].
pub async fn create(
    conn: &mut PgConnection,
    r: &Repair,
    audit: &kit::audit::Write<'_>,
    claim: Answered<'_>,
    outbox: Batch,
) -> Result<bool, WriteError> {
    let sql = format!(
        "WITH c AS ({}),
         r AS (
             INSERT INTO repairs (id, number, state, order_id, order_line_id, buyer_id,
                 merchant_id, due_time, create_time, update_time, doc)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10 FROM c RETURNING id),
         a AS (
             INSERT INTO audit (case_id, actor_role, actor_id, from_state, to_state,
                 action, reason, request_id)
             SELECT id, $11, $12, NULL, $3, $13, $14, $15 FROM r),
         o AS (
             INSERT INTO outbox (kind, topic, method, key, payload, traceparent)
             SELECT rows.* FROM ({}) AS rows, c
             ON CONFLICT ON CONSTRAINT outbox_key_unique DO NOTHING)
         SELECT count(*) FROM c",
        Answered::insert_sql(16),
        Batch::rows_sql(21)
    );
    let q = sqlx::query(&sql)
        .bind(r.id)
        .bind(&r.number)
        .bind(r.state as i16)
        .bind(&r.order_id)
        .bind(&r.order_line_id)
        .bind(&r.buyer_id)
        .bind(&r.merchant_id)
        .bind(due_first(r))
        .bind(r.created)
        .bind(Json(r))
        .bind(audit.actor.0)
        .bind(audit.actor.1)
        .bind(audit.action)
        .bind(audit.reason)
        .bind(audit.request_id);
    let row = outbox
        .bind(claim.bind(q))
        .fetch_one(&mut *conn)
        .await
        .on_constraint(ONE_OPEN_PER_LINE, || WriteError::LineOpen)?;
    let fresh: i64 = sqlx::Row::try_get(&row, 0)?;
    Ok(fresh == 1)
}

/// Stores a changed repair.
pub async fn update(tx: &mut PgConnection, r: &Repair) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE repairs SET state = $2, due_time = $3, update_time = $4, doc = $5 WHERE id = $1",
    )
    .bind(r.id)
    .bind(r.state as i16)
    .bind(due_first(r))
    .bind(r.updated)
    .bind(Json(r))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One repair.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Repair>, sqlx::Error> {
    let doc: Option<Json<Repair>> = sqlx::query_scalar("SELECT doc FROM repairs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(doc.map(|d| d.0))
}

/// One repair by its number.
pub async fn by_number(pool: &PgPool, number: &str) -> Result<Option<Repair>, sqlx::Error> {
    let doc: Option<Json<Repair>> = sqlx::query_scalar("SELECT doc FROM repairs WHERE number = $1")
        .bind(number)
        .fetch_optional(pool)
        .await?;
    Ok(doc.map(|d| d.0))
}

/// One repair, locked until `tx` ends: transitions of one repair are serial.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<Repair>, sqlx::Error> {
    let doc: Option<Json<Repair>> =
        sqlx::query_scalar("SELECT doc FROM repairs WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(doc.map(|d| d.0))
}

/// A list query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub buyer_id: Option<String>,
    pub merchant_id: Option<String>,
    pub order_id: Option<String>,
    pub states: Vec<i16>,
}

/// A page of repairs, newest first, after `after`.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Repair>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT doc FROM repairs WHERE true");
    for (col, v) in [
        ("buyer_id", &f.buyer_id),
        ("merchant_id", &f.merchant_id),
        ("order_id", &f.order_id),
    ] {
        if let Some(v) = v {
            q.push(format!(" AND {col} = ")).push_bind(v.clone());
        }
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
    let rows: Vec<(Json<Repair>,)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.0.0).collect())
}
