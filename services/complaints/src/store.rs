//! The complaints schema: the only file that knows table names. Writes take the caller's
//! transaction so a transition, its audit row and its outbox rows commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};
use uuid::Uuid;

use kit::db::ResultExt;

use crate::domain::{kinds::State, ticket::Ticket};

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

/// Inserts a new ticket.
pub async fn insert(tx: &mut PgConnection, t: &Ticket) -> Result<(), WriteError> {
    sqlx::query(
        "INSERT INTO complaints (id, number, state, buyer_id, merchant_id, owner_id, order_id,
             subject_case, priority, channel, category, region, due_time, create_time,
             update_time, ticket)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)",
    )
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
    .execute(&mut *tx)
    .await
    .on_constraint(ONE_PER_DISPUTE, || WriteError::DisputeTaken)?;
    Ok(())
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

/// An audit row to append.
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
        "INSERT INTO audit (complaint_id, actor_role, actor_id, from_state, to_state, action,
             reason, request_id)
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

/// A page of a ticket's audit trail, oldest first.
pub async fn audit_page(
    pool: &PgPool,
    id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_role, actor_id, from_state, to_state, action, reason, request_id
         FROM audit WHERE complaint_id = $1 AND id > $2 ORDER BY id LIMIT $3",
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
) -> Result<Vec<Ticket>, sqlx::Error> {
    let rows: Vec<(Json<Ticket>,)> = sqlx::query_as(
        "SELECT ticket FROM complaints
         WHERE create_time < $2 AND update_time >= $1
           AND ($3::text IS NULL OR region = $3) AND ($4::text IS NULL OR category = $4)",
    )
    .bind(from)
    .bind(to)
    .bind(region)
    .bind(category)
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

/// A surge key's detector state, locked; `None` for a key seen for the first time (its
/// row is then created, and locked, by this call).
pub async fn lock_surge_key(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
) -> Result<Option<rules::surge::State>, sqlx::Error> {
    let fresh: Option<i32> = sqlx::query_scalar(
        "INSERT INTO surge_keys (category, region) VALUES ($1, $2)
         ON CONFLICT ON CONSTRAINT surge_keys_pk DO NOTHING RETURNING 1",
    )
    .bind(category)
    .bind(region)
    .fetch_optional(&mut *tx)
    .await?;
    if fresh.is_some() {
        return Ok(None);
    }
    let (day, today, win, history, in_surge, quiet): (Option<i64>, i32, Vec<i32>, i32, bool, i32) =
        sqlx::query_as(
            "SELECT day, today, win, history, in_surge, quiet FROM surge_keys
             WHERE category = $1 AND region = $2 FOR UPDATE",
        )
        .bind(category)
        .bind(region)
        .fetch_one(&mut *tx)
        .await?;
    let mut window = [0u32; rules::surge::WINDOW];
    for (slot, v) in window.iter_mut().zip(win) {
        *slot = v.max(0) as u32;
    }
    Ok(Some(rules::surge::State {
        day,
        today: today.max(0) as u32,
        window,
        history: history.max(0) as u32,
        in_surge,
        quiet: quiet.max(0) as u32,
    }))
}

/// Stores a surge key's detector state.
pub async fn put_surge_key(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
    s: &rules::surge::State,
) -> Result<(), sqlx::Error> {
    let win: Vec<i32> = s
        .window
        .iter()
        .map(|&v| v.min(i32::MAX as u32) as i32)
        .collect();
    sqlx::query(
        "UPDATE surge_keys SET day = $3, today = $4, win = $5, history = $6, in_surge = $7,
             quiet = $8 WHERE category = $1 AND region = $2",
    )
    .bind(category)
    .bind(region)
    .bind(s.day)
    .bind(s.today.min(i32::MAX as u32) as i32)
    .bind(win)
    .bind(s.history.min(i32::MAX as u32) as i32)
    .bind(s.in_surge)
    .bind(s.quiet.min(i32::MAX as u32) as i32)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Complaints of a key filed in `[from, to)`.
pub async fn count_between(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u32, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM complaints
         WHERE category = $1 AND region = $2 AND create_time >= $3 AND create_time < $4",
    )
    .bind(category)
    .bind(region)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *tx)
    .await?;
    Ok(n as u32)
}

/// A key's complaints per day (day numbers in UTC+8) filed in `[from, to)`.
pub async fn daily_counts(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, u32)>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT floor((extract(epoch FROM create_time) + 28800) / 86400)::bigint AS d, count(*)
         FROM complaints
         WHERE category = $1 AND region = $2 AND create_time >= $3 AND create_time < $4
         GROUP BY d",
    )
    .bind(category)
    .bind(region)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|(d, n)| (d, n as u32)).collect())
}

/// Records a raised warning.
pub async fn insert_warning(
    tx: &mut PgConnection,
    id: Uuid,
    category: &str,
    region: &str,
    w: &rules::surge::Warning,
) -> Result<(), sqlx::Error> {
    let start = crate::domain::days::day_start(w.day);
    sqlx::query(
        "INSERT INTO early_warnings (id, category, region, day, window_start, window_end, count,
             baseline, ratio, p_value)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(category)
    .bind(region)
    .bind(w.day)
    .bind(start)
    .bind(start + chrono::Duration::days(1))
    .bind(w.count as i32)
    .bind(w.baseline)
    .bind(w.ratio)
    .bind(w.p_value)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored warning.
#[derive(sqlx::FromRow)]
pub struct WarningRow {
    pub id: Uuid,
    pub category: String,
    pub region: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub count: i32,
    pub baseline: f64,
    pub ratio: f64,
    pub create_time: DateTime<Utc>,
}

/// A page of warnings, newest first.
pub async fn warnings_page(
    pool: &PgPool,
    region: Option<&str>,
    category: Option<&str>,
    since: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<WarningRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, category, region, window_start, window_end, count, baseline, ratio, create_time
         FROM early_warnings
         WHERE ($1::text IS NULL OR region = $1) AND ($2::text IS NULL OR category = $2)
           AND ($3::timestamptz IS NULL OR create_time >= $3) AND ($4::uuid IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
    )
    .bind(region)
    .bind(category)
    .bind(since)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}
