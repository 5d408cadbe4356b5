//! The reference: pgbench running the raw SQL of an equivalent write at a given
//! concurrency on the same Postgres, in the same run.

use std::process::Command;

use anyhow::{Context, bail};

/// pgbench's TPS for `script` on `schema` with `clients` connections for `seconds`.
pub fn tps(
    url: &str,
    schema: &str,
    script: &str,
    clients: usize,
    seconds: u32,
) -> anyhow::Result<f64> {
    let path = std::env::temp_dir().join(format!("{schema}-{clients}.sql"));
    std::fs::write(&path, script)?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&path)
        .arg(url)
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no tps in pgbench output")
}

/// The better of pgbench at the bench's concurrency and at the service's pool size (10):
/// whichever suits Postgres's group commit here, so a ratio is never flattered by a poor
/// reference. The runs take it before and after their load and keep the better again:
/// this machine's fsync latency wanders by 2x between minutes.
pub fn best_tps(
    url: &str,
    schema: &str,
    script: &str,
    clients: usize,
    seconds: u32,
) -> anyhow::Result<f64> {
    Ok(tps(url, schema, script, clients, seconds)?.max(tps(url, schema, script, 10, seconds)?))
}

/// The `p`th percentile of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

/// Drops a bench schema.
pub async fn drop_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&pool)
        .await?;
    Ok(())
}

/// A count on a bench schema.
pub async fn count(url: &str, sql: &str) -> anyhow::Result<i64> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    Ok(sqlx::query_scalar(sql).fetch_one(&pool).await?)
}
