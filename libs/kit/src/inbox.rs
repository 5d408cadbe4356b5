//! Deduplication on the receiving side: an event id or delivery id is recorded in the same
//! transaction as its effect, so a redelivered message changes nothing the second time.

use sqlx::PgConnection;

/// Records `id` (from `source`) and returns true the first time it is seen in `tx`'s
/// committed history; false for a duplicate, whose effect must then be skipped.
pub async fn first_delivery(
    tx: &mut PgConnection,
    id: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let rows =
        sqlx::query("INSERT INTO inbox (id, source) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(source)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    Ok(rows == 1)
}
