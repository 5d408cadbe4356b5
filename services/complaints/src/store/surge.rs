//! The early-warning tables: each (category, region) key's surge detector state, the
//! daily counts it is fed from, and the warnings raised.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

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
