//! The returns schema: the only file that knows table names. Writes take the caller's
//! transaction so a transition, its audit row and its outbox rows commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};
use uuid::Uuid;

use kit::{db::ResultExt, idempotency::Answered, outbox::Batch};

use crate::domain::{case::Case, kinds::State, platform_policy::PlatformPolicy, policy::Policy};

/// Why a write was refused by the database's own rules.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// `units_within_bought`: more units than bought would be in requests.
    #[error("more units than bought")]
    Units,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The CHECK on `line_units` that keeps the units in requests within those bought.
const UNITS_WITHIN_BOUGHT: &str = "units_within_bought";

/// The merchant's stored policy, if any.
pub async fn policy(
    conn: &mut PgConnection,
    merchant: &str,
) -> Result<Option<(Policy, DateTime<Utc>)>, sqlx::Error> {
    let row: Option<(Json<Policy>, DateTime<Utc>)> =
        sqlx::query_as("SELECT policy, update_time FROM policies WHERE merchant_id = $1")
            .bind(merchant)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(p, t)| (p.0, t)))
}

/// Stores a merchant's policy.
pub async fn put_policy(
    tx: &mut PgConnection,
    merchant: &str,
    p: &Policy,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO policies (merchant_id, policy) VALUES ($1, $2)
         ON CONFLICT (merchant_id) DO UPDATE SET policy = EXCLUDED.policy, update_time = now()
         RETURNING update_time",
    )
    .bind(merchant)
    .bind(Json(p))
    .fetch_one(&mut *tx)
    .await
}

/// The platform policy in force, if an admin ever changed the defaults.
pub async fn platform_policy(
    conn: &mut PgConnection,
) -> Result<Option<(PlatformPolicy, DateTime<Utc>)>, sqlx::Error> {
    let row: Option<(Json<PlatformPolicy>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT policy, update_time FROM platform_policy ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(p, t)| (p.0, t)))
}

/// Puts a new version of the platform policy in force; the older ones stay as its trail.
pub async fn put_platform_policy(
    tx: &mut PgConnection,
    p: &PlatformPolicy,
    actor: (&str, &str),
    request_id: &str,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO platform_policy (policy, actor_role, actor_id, request_id)
         VALUES ($1, $2, $3, $4) RETURNING update_time",
    )
    .bind(Json(p))
    .bind(actor.0)
    .bind(actor.1)
    .bind(request_id)
    .fetch_one(&mut *tx)
    .await
}

/// Adds `delta` units (negative to release) to a line's claimed units. The line's row
/// exists once a request was made for it, so only a first claim inserts it.
pub async fn claim_units(
    tx: &mut PgConnection,
    order: &str,
    line: &str,
    bought: u32,
    delta: i32,
) -> Result<(), WriteError> {
    if delta < 0 {
        sqlx::query("UPDATE line_units SET claimed = claimed + $3 WHERE order_id = $1 AND order_line_id = $2")
            .bind(order)
            .bind(line)
            .bind(delta)
            .execute(&mut *tx)
            .await
            .on_constraint(UNITS_WITHIN_BOUGHT, || WriteError::Units)?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO line_units AS u (order_id, order_line_id, bought, claimed) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT line_units_pk DO UPDATE SET claimed = u.claimed + EXCLUDED.claimed",
    )
    .bind(order)
    .bind(line)
    .bind(bought as i32)
    .bind(delta)
    .execute(&mut *tx)
    .await
    .on_constraint(UNITS_WITHIN_BOUGHT, || WriteError::Units)?;
    Ok(())
}

/// Writes a new request in one statement (one round trip, one implicit transaction):
/// its idempotency claim with the answer, its units of the line (`bought` in all), the
/// request, its first audit row and its outbox rows. Every part after the claim is
/// conditional on it: a duplicate `request_id` (waited on if still in flight) writes
/// nothing and returns false. More units than bought is [`WriteError::Units`].
pub async fn create(
    conn: &mut PgConnection,
    c: &Case,
    bought: u32,
    actor: (&str, &str),
    claim: Answered<'_>,
    outbox: Batch,
) -> Result<bool, WriteError> {
    let sql = format!(
        "WITH c AS ({}),
         u AS (
             INSERT INTO line_units AS u (order_id, order_line_id, bought, claimed)
             SELECT $4, $5, $13, $14 FROM c
             ON CONFLICT ON CONSTRAINT line_units_pk DO UPDATE SET claimed = u.claimed + EXCLUDED.claimed),
         r AS (
             INSERT INTO returns (id, state, kind, order_id, order_line_id, buyer_id, merchant_id,
                 clock_due, doc, create_time, update_time)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 FROM c RETURNING id),
         a AS (
             INSERT INTO audit (return_id, actor_role, actor_id, from_state, to_state, action, reason, request_id)
             SELECT id, $11, $12, NULL, $2, 'create', '', $17 FROM r),
         o AS (
             INSERT INTO outbox (kind, topic, method, key, payload, traceparent)
             SELECT rows.* FROM ({}) AS rows, c
             ON CONFLICT ON CONSTRAINT outbox_key_unique DO NOTHING)
         SELECT count(*) FROM c",
        Answered::insert_sql(15),
        Batch::rows_sql(20)
    );
    let query = sqlx::query(&sql)
        .bind(c.id)
        .bind(c.state as i16)
        .bind(c.kind as i16)
        .bind(&c.order_id)
        .bind(&c.order_line_id)
        .bind(&c.buyer_id)
        .bind(&c.merchant_id)
        .bind(c.clock.as_ref().and_then(|k| k.due))
        .bind(Json(c))
        .bind(c.created)
        .bind(actor.0)
        .bind(actor.1)
        .bind(bought as i32)
        .bind(c.quantity as i32);
    let row = outbox
        .bind(claim.bind(query))
        .fetch_one(&mut *conn)
        .await
        .on_constraint(UNITS_WITHIN_BOUGHT, || WriteError::Units)?;
    let claimed: i64 = sqlx::Row::try_get(&row, 0)?;
    Ok(claimed == 1)
}

/// What a revision is decided on from this schema, in one round trip: the merchant's
/// policy (if published) and the units of the line already in requests.
pub async fn policy_and_claimed(
    conn: &mut PgConnection,
    merchant: &str,
    order: &str,
    line: &str,
) -> Result<(Option<Policy>, u32), sqlx::Error> {
    let (policy, claimed): (Option<Json<Policy>>, Option<i32>) = sqlx::query_as(
        "SELECT (SELECT policy FROM policies WHERE merchant_id = $1),
                (SELECT claimed FROM line_units WHERE order_id = $2 AND order_line_id = $3)",
    )
    .bind(merchant)
    .bind(order)
    .bind(line)
    .fetch_one(&mut *conn)
    .await?;
    Ok((policy.map(|p| p.0), claimed.unwrap_or(0).max(0) as u32))
}

/// Writes a request after a transition.
pub async fn update(tx: &mut PgConnection, c: &Case) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE returns SET state = $2, kind = $3, clock_due = $4, doc = $5, update_time = $6 WHERE id = $1",
    )
    .bind(c.id)
    .bind(c.state as i16)
    .bind(c.kind as i16)
    .bind(c.clock.as_ref().and_then(|k| k.due))
    .bind(Json(c))
    .bind(c.updated)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// One request.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Case>, sqlx::Error> {
    let doc: Option<Json<Case>> = sqlx::query_scalar("SELECT doc FROM returns WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(doc.map(|d| d.0))
}

/// One request, locked until `tx` ends: transitions of one request are serial.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<Case>, sqlx::Error> {
    let doc: Option<Json<Case>> =
        sqlx::query_scalar("SELECT doc FROM returns WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(doc.map(|d| d.0))
}

/// An audit row.
pub struct AuditRow<'a> {
    pub actor: (&'a str, &'a str),
    pub from: Option<State>,
    pub to: State,
    pub action: &'a str,
    pub reason: &'a str,
    pub request_id: &'a str,
}

/// Appends an audit row.
pub async fn audit(tx: &mut PgConnection, id: Uuid, a: &AuditRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (return_id, actor_role, actor_id, from_state, to_state, action, reason, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(a.actor.0)
    .bind(a.actor.1)
    .bind(a.from.map(|s| s as i16))
    .bind(a.to as i16)
    .bind(a.action)
    .bind(a.reason)
    .bind(a.request_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored audit row.
#[derive(sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_role: String,
    pub actor_id: String,
    pub from_state: Option<i16>,
    pub to_state: i16,
    pub action: String,
    pub reason: String,
    pub request_id: String,
}

/// A page of a request's audit trail, oldest first.
pub async fn audit_page(
    pool: &PgPool,
    id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_role, actor_id, from_state, to_state, action, reason, request_id
         FROM audit WHERE return_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A list query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub buyer_id: Option<String>,
    pub merchant_id: Option<String>,
    pub order_id: Option<String>,
    pub states: Vec<i16>,
}

/// Where a page starts.
#[derive(Clone, Debug)]
pub enum After {
    Start,
    /// Newest first: ids below this one.
    Id(Uuid),
    /// Soonest deadline first: after (due, id); `None` due sorts last.
    Due(Option<DateTime<Utc>>, Uuid),
}

/// A page of requests with their clock due times.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    by_due: bool,
    after: &After,
    limit: i64,
) -> Result<Vec<(Case, Option<DateTime<Utc>>)>, sqlx::Error> {
    let mut q: QueryBuilder<'_, Postgres> =
        QueryBuilder::new("SELECT doc, clock_due FROM returns WHERE true");
    if let Some(v) = &f.buyer_id {
        q.push(" AND buyer_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.merchant_id {
        q.push(" AND merchant_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.order_id {
        q.push(" AND order_id = ").push_bind(v.clone());
    }
    if !f.states.is_empty() {
        q.push(" AND state = ANY(")
            .push_bind(f.states.clone())
            .push(")");
    }
    match after {
        After::Start => {}
        After::Id(id) => {
            q.push(" AND id < ").push_bind(*id);
        }
        After::Due(Some(due), id) => {
            q.push(" AND (clock_due > ").push_bind(*due);
            q.push(" OR (clock_due = ")
                .push_bind(*due)
                .push(" AND id > ")
                .push_bind(*id);
            q.push(") OR clock_due IS NULL)");
        }
        After::Due(None, id) => {
            q.push(" AND clock_due IS NULL AND id > ").push_bind(*id);
        }
    }
    q.push(if by_due {
        " ORDER BY clock_due ASC NULLS LAST, id ASC"
    } else {
        " ORDER BY id DESC"
    });
    q.push(" LIMIT ").push_bind(limit);
    let rows: Vec<(Json<Case>, Option<DateTime<Utc>>)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(c, d)| (c.0, d)).collect())
}

/// Units of a line already in open or completed requests (for a refusal's message).
pub async fn claimed(conn: &mut PgConnection, order: &str, line: &str) -> Result<u32, sqlx::Error> {
    let n: Option<i32> = sqlx::query_scalar(
        "SELECT claimed FROM line_units WHERE order_id = $1 AND order_line_id = $2",
    )
    .bind(order)
    .bind(line)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(n.unwrap_or(0).max(0) as u32)
}
