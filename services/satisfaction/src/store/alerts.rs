//! The CSAT alert's state per merchant, its trailing window from the rollups, and the
//! alerts raised.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::domain::alert::Window;

/// Whether `merchant` is below the target, locked until `tx` ends: the ratings of one
/// merchant judge its crossing one at a time.
pub async fn lock_below(tx: &mut PgConnection, merchant: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO merchant_csat (merchant_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(merchant)
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar("SELECT below FROM merchant_csat WHERE merchant_id = $1 FOR UPDATE")
        .bind(merchant)
        .fetch_one(&mut *tx)
        .await
}

pub async fn set_below(
    tx: &mut PgConnection,
    merchant: &str,
    below: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE merchant_csat SET below = $2 WHERE merchant_id = $1")
        .bind(merchant)
        .bind(below)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `merchant`'s ratings and satisfied ones over the days `[from, to)` (rollups).
pub async fn window(
    tx: &mut PgConnection,
    merchant: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Window, sqlx::Error> {
    let row = sqlx::query(
        "SELECT coalesce(sum(ratings), 0)::bigint AS ratings,
                coalesce(sum(satisfied), 0)::bigint AS satisfied
         FROM rollups WHERE merchant_id = $1 AND day >= $2 AND day < $3",
    )
    .bind(merchant)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Window {
        ratings: row.try_get("ratings")?,
        satisfied: row.try_get("satisfied")?,
    })
}

/// An alert as stored.
#[derive(Clone, Debug)]
pub struct Alert {
    pub id: Uuid,
    pub merchant_id: String,
    pub value: f64,
    pub threshold: f64,
    pub sample_size: i32,
    pub window: (NaiveDate, NaiveDate),
    pub created: DateTime<Utc>,
}

pub async fn insert(tx: &mut PgConnection, a: &Alert) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alerts (id, kind, merchant_id, value, threshold, sample_size,
             window_start, window_end, create_time)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.id)
    .bind(&a.merchant_id)
    .bind(a.value)
    .bind(a.threshold)
    .bind(a.sample_size)
    .bind(a.window.0)
    .bind(a.window.1)
    .bind(a.created)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A page of alerts, newest first: of `merchant` if given, raised at or after `since`.
pub async fn list(
    pool: &PgPool,
    merchant: Option<&str>,
    since: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Alert>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, merchant_id, value, threshold, sample_size, window_start, window_end,
             create_time
         FROM alerts
         WHERE ($1::text IS NULL OR merchant_id = $1)
           AND ($2::timestamptz IS NULL OR create_time >= $2)
           AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
    )
    .bind(merchant)
    .bind(since)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Alert {
                id: r.try_get("id")?,
                merchant_id: r.try_get("merchant_id")?,
                value: r.try_get("value")?,
                threshold: r.try_get("threshold")?,
                sample_size: r.try_get("sample_size")?,
                window: (r.try_get("window_start")?, r.try_get("window_end")?),
                created: r.try_get("create_time")?,
            })
        })
        .collect()
}
