//! Reading and changing timers: by id, locked for a change, listed (keyset-paged), loaded
//! for claimed events, and scanned for rebuilding and restoring the Redis schedule.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{COLUMNS, TimerRow};

/// One timer.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM timers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Filters of a timer listing.
#[derive(Debug, Default)]
pub struct TimerFilter {
    pub owner: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<String>,
    pub states: Vec<String>,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// A position in a listing: by due time within a subject, by id across subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Due(DateTime<Utc>, Uuid),
    Id(Uuid),
}

impl TimerFilter {
    /// The listing's order: a subject's timers by due time (the few clocks of one return or
    /// repair, found through the live-key index); otherwise by id, which pages through
    /// every timer of an owner along the primary key without reading them all per page
    /// (an index by due time would be a fourth insertion per scheduled timer).
    pub fn by_due_time(&self) -> bool {
        self.subject.is_some()
    }

    /// Whether `c` is a position in this listing's order (a page token of another listing
    /// is not).
    pub fn orders_by(&self, c: &Cursor) -> bool {
        matches!(c, Cursor::Due(..)) == self.by_due_time()
    }

    /// Where `row` ends a page, in this listing's order.
    pub fn cursor_after(&self, row: &TimerRow) -> Cursor {
        if self.by_due_time() {
            Cursor::Due(row.due_time, row.id)
        } else {
            Cursor::Id(row.id)
        }
    }
}

/// Timers matching `f`, in its order ([`TimerFilter::by_due_time`]), keyset-paginated. A
/// cursor of the other order is a caller error the API refuses before this.
pub async fn list(pool: &PgPool, f: &TimerFilter) -> Result<Vec<TimerRow>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM timers WHERE true"));
    if let Some(o) = &f.owner {
        qb.push(" AND owner = ").push_bind(o);
    }
    if let Some(s) = &f.subject {
        qb.push(" AND subject = ").push_bind(s);
    }
    if let Some(k) = &f.kind {
        qb.push(" AND kind = ").push_bind(k);
    }
    if !f.states.is_empty() {
        qb.push(" AND state = ANY(").push_bind(&f.states).push(")");
    }
    match f.after {
        Some(Cursor::Due(due, id)) => {
            qb.push(" AND (due_time, id) > (")
                .push_bind(due)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(Cursor::Id(id)) => {
            qb.push(" AND id > ").push_bind(id);
        }
        None => {}
    }
    qb.push(if f.by_due_time() {
        " ORDER BY due_time, id LIMIT "
    } else {
        " ORDER BY id LIMIT "
    })
    .push_bind(f.limit);
    qb.build_query_as().fetch_all(pool).await
}

/// Locks a timer for a state change in `tx`.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM timers WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// Writes every mutable column of `r`.
pub async fn update(tx: &mut PgConnection, r: &TimerRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE timers SET state = $2, trigger = $3, reminder_at = $4, reminders_done = $5, start_time = $6,
            due_time = $7, remaining_ms = $8, generation = $9, next_point = $10, next_fire_at = $11,
            attempts = $12, last_error = $13, fired_time = $14, reschedule_count = $15, updated_at = now()
         WHERE id = $1",
    )
    .bind(r.id)
    .bind(&r.state)
    .bind(&r.trigger)
    .bind(&r.reminder_at)
    .bind(r.reminders_done)
    .bind(r.start_time)
    .bind(r.due_time)
    .bind(r.remaining_ms)
    .bind(r.generation)
    .bind(r.next_point)
    .bind(r.next_fire_at)
    .bind(r.attempts)
    .bind(&r.last_error)
    .bind(r.fired_time)
    .bind(r.reschedule_count)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Timers by id, for the events a replica just claimed.
pub async fn load(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM timers WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// Live scheduled timers after `after` (keyset), for rebuilding Redis.
pub async fn scan_scheduled(
    pool: &PgPool,
    after: Uuid,
    limit: i64,
) -> Result<Vec<(Uuid, i32, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, generation, next_point, next_fire_at FROM timers
         WHERE state = 'scheduled' AND next_fire_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Scheduled timers whose next event is overdue by more than `grace_ms`: stragglers whose
/// Redis entry was lost (e.g. a crash between commit and ZADD).
pub async fn overdue(
    pool: &PgPool,
    grace_ms: i64,
    limit: i64,
) -> Result<Vec<(Uuid, i32, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, generation, next_point, next_fire_at FROM timers
         WHERE state = 'scheduled' AND next_fire_at < now() - make_interval(secs => $1 / 1000.0)
         ORDER BY next_fire_at LIMIT $2",
    )
    .bind(grace_ms as f64)
    .bind(limit)
    .fetch_all(pool)
    .await
}
