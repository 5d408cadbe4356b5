//! The scorecard's counters per merchant and day.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};

use crate::domain::{
    aggregate::day_of,
    scorecard::{Counts, Span, Tally},
};

/// Adds `t` to `merchant`'s day of `at` (a case's end only the first time).
pub async fn add(
    tx: &mut PgConnection,
    merchant: &str,
    at: DateTime<Utc>,
    t: &Tally,
) -> Result<(), sqlx::Error> {
    let day = day_of(at);
    if let Tally::Penalty { currency, minor } = t {
        sqlx::query(
            "INSERT INTO merchant_penalties (merchant_id, day, currency, minor, settled)
             VALUES ($1, $2, $3, $4, 1)
             ON CONFLICT (merchant_id, day, currency) DO UPDATE SET
                 minor = merchant_penalties.minor + EXCLUDED.minor,
                 settled = merchant_penalties.settled + 1",
        )
        .bind(merchant)
        .bind(day)
        .bind(currency)
        .bind(minor)
        .execute(&mut *tx)
        .await?;
        return Ok(());
    }
    if let Tally::CaseEnded { case_name, .. } = t {
        let first = sqlx::query(
            "INSERT INTO merchant_cases (case_name) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(case_name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if first == 0 {
            return Ok(());
        }
    }
    let (cases, complaints, clocks, breaches, re_repairs) = match t {
        Tally::CaseEnded { re_repairs, .. } => (1, 0, 0, 0, *re_repairs),
        Tally::ComplaintOpened => (0, 1, 0, 0, 0),
        Tally::Clock { breached } => (0, 0, 1, i64::from(*breached), 0),
        Tally::Penalty { .. } => unreachable!("handled above"),
    };
    sqlx::query(
        "INSERT INTO merchant_days (merchant_id, day, cases, complaints, sla_clocks,
             sla_breaches, re_repairs)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (merchant_id, day) DO UPDATE SET
             cases = merchant_days.cases + EXCLUDED.cases,
             complaints = merchant_days.complaints + EXCLUDED.complaints,
             sla_clocks = merchant_days.sla_clocks + EXCLUDED.sla_clocks,
             sla_breaches = merchant_days.sla_breaches + EXCLUDED.sla_breaches,
             re_repairs = merchant_days.re_repairs + EXCLUDED.re_repairs",
    )
    .bind(merchant)
    .bind(day)
    .bind(cases)
    .bind(complaints)
    .bind(clocks)
    .bind(breaches)
    .bind(re_repairs)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `merchant`'s counts over the days of `span`.
pub async fn counts(
    pool: &PgPool,
    merchant: &str,
    (from, to): Span,
) -> Result<Counts, sqlx::Error> {
    let row = sqlx::query(
        "SELECT coalesce(sum(cases), 0)::bigint AS cases,
                coalesce(sum(complaints), 0)::bigint AS complaints,
                coalesce(sum(sla_clocks), 0)::bigint AS sla_clocks,
                coalesce(sum(sla_breaches), 0)::bigint AS sla_breaches,
                coalesce(sum(re_repairs), 0)::bigint AS re_repairs
         FROM merchant_days WHERE merchant_id = $1 AND day >= $2 AND day < $3",
    )
    .bind(merchant)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    let penalties = sqlx::query(
        "SELECT currency, sum(minor)::bigint AS minor, sum(settled)::bigint AS settled
         FROM merchant_penalties WHERE merchant_id = $1 AND day >= $2 AND day < $3
         GROUP BY currency ORDER BY currency",
    )
    .bind(merchant)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(Counts {
        cases: row.try_get("cases")?,
        complaints: row.try_get("complaints")?,
        sla_clocks: row.try_get("sla_clocks")?,
        sla_breaches: row.try_get("sla_breaches")?,
        re_repairs: row.try_get("re_repairs")?,
        penalties: penalties
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("currency")?,
                    (r.try_get("minor")?, r.try_get("settled")?),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?,
    })
}
