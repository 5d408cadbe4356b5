//! Calendar years loaded at run time, stored so that every replica sees them.

use sqlx::PgPool;

/// Calendar years loaded at run time.
pub async fn calendar_years(
    pool: &PgPool,
) -> Result<
    Vec<(
        String,
        i32,
        sqlx::types::Json<Vec<(String, String)>>,
        sqlx::types::Json<Vec<String>>,
    )>,
    sqlx::Error,
> {
    sqlx::query_as(
        "SELECT calendar, year, holidays, makeup_days FROM calendar_years ORDER BY calendar, year",
    )
    .fetch_all(pool)
    .await
}

/// Stores a calendar year (replacing it).
pub async fn upsert_calendar_year(
    pool: &PgPool,
    calendar: &str,
    year: i32,
    holidays: &[(String, String)],
    makeup: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calendar_years (calendar, year, holidays, makeup_days) VALUES ($1, $2, $3, $4)
         ON CONFLICT (calendar, year) DO UPDATE SET holidays = excluded.holidays, makeup_days = excluded.makeup_days, updated_at = now()",
    )
    .bind(calendar)
    .bind(year)
    .bind(sqlx::types::Json(holidays))
    .bind(sqlx::types::Json(makeup))
    .execute(pool)
    .await?;
    Ok(())
}
