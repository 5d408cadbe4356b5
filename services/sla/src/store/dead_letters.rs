//! Dead letters: deliveries that exhausted their retries, parked for an operator to list
//! and replay.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::lock;

/// A dead letter row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeadLetterRow {
    pub id: i64,
    pub timer_id: Uuid,
    pub owner: String,
    pub subject: String,
    pub kind: String,
    pub point: i32,
    pub generation: i32,
    pub delivery_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
}

/// A delivery to park as dead, and (for a reminder) the event that follows it.
pub struct Parking<'a> {
    pub id: Uuid,
    pub generation: i32,
    pub point: i32,
    pub delivery_id: &'a str,
    pub attempts: i32,
    pub error: &'a str,
    pub next: Option<(i32, DateTime<Utc>)>,
}

/// Parks a delivery that exhausted its retries. An expiry parks the timer too; a reminder
/// is skipped so the clock still runs to its deadline. Returns the parked row, or None when
/// the timer moved on meanwhile.
pub async fn dead_letter(
    tx: &mut PgConnection,
    p: Parking<'_>,
) -> Result<Option<DeadLetterRow>, sqlx::Error> {
    let Parking {
        id,
        generation,
        point,
        delivery_id,
        attempts,
        error,
        next,
    } = p;
    let Some(t) = lock(tx, id).await? else {
        return Ok(None);
    };
    if t.generation != generation || t.state != "scheduled" || t.next_point != Some(point) {
        return Ok(None);
    }
    if point < 0 {
        sqlx::query(
            "UPDATE timers SET state = 'dead_letter', attempts = $2, last_error = $3, next_fire_at = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(attempts)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    } else {
        let (np, at) = next.expect("a reminder is followed by another event");
        sqlx::query(
            "UPDATE timers SET reminders_done = reminders_done | (1 << $2), next_point = $3, next_fire_at = $4,
                    attempts = 0, last_error = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(point)
        .bind(np)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query_as(
        "INSERT INTO dead_letters (timer_id, owner, subject, kind, point, generation, delivery_id, attempts, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
    )
    .bind(id)
    .bind(&t.owner)
    .bind(&t.subject)
    .bind(&t.kind)
    .bind(point)
    .bind(generation)
    .bind(delivery_id)
    .bind(attempts)
    .bind(error)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Some(row))
}

/// Dead letters, newest last, optionally of one owner.
pub async fn list_dead_letters(
    pool: &PgPool,
    owner: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<DeadLetterRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM dead_letters WHERE ($1::text IS NULL OR owner = $1) AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(owner)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Locks a dead letter for replay.
pub async fn lock_dead_letter(
    tx: &mut PgConnection,
    id: i64,
) -> Result<Option<DeadLetterRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
}

/// Marks a dead letter replayed.
pub async fn mark_replayed(tx: &mut PgConnection, id: i64) -> Result<DeadLetterRow, sqlx::Error> {
    sqlx::query_as("UPDATE dead_letters SET replayed_at = now() WHERE id = $1 RETURNING *")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
}
