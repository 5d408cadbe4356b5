//! The daily rollups: added to as surveys open and ratings arrive (in those
//! transactions), read back by day for an aggregate.

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use crate::domain::{
    aggregate::{Day, Measured, Totals, day_of},
    rollup::{BUCKETS, Rated, bucket},
    survey::Survey,
};

fn measured(d: Option<chrono::Duration>) -> (i64, i64, Vec<i64>) {
    let mut hist = vec![0; BUCKETS];
    match d {
        Some(d) => {
            let secs = d.num_seconds();
            hist[bucket(secs)] = 1;
            (1, secs, hist)
        }
        None => (0, 0, hist),
    }
}

const KEY: &str = "(merchant_id, day, category, region, service_type)";

/// A survey opened: its group's day counts it and its measured times.
pub async fn opened(tx: &mut PgConnection, s: &Survey) -> Result<(), sqlx::Error> {
    let c = &s.case;
    let (fr_n, fr_sum, fr_hist) = measured(s.first_response);
    let (re_n, re_sum, re_hist) = measured(s.resolution);
    sqlx::query(&format!(
        "INSERT INTO rollups (merchant_id, day, category, region, service_type, surveys, first_response_n,
              first_response_sum, first_response_hist, resolution_n, resolution_sum,
              resolution_hist)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $11)
         ON CONFLICT {KEY} DO UPDATE SET
             surveys = rollups.surveys + 1,
             first_response_n = rollups.first_response_n + EXCLUDED.first_response_n,
             first_response_sum = rollups.first_response_sum + EXCLUDED.first_response_sum,
             first_response_hist = add_arrays(rollups.first_response_hist, EXCLUDED.first_response_hist),
             resolution_n = rollups.resolution_n + EXCLUDED.resolution_n,
             resolution_sum = rollups.resolution_sum + EXCLUDED.resolution_sum,
             resolution_hist = add_arrays(rollups.resolution_hist, EXCLUDED.resolution_hist)"
    ))
    .bind(&c.merchant_id)
    .bind(day_of(s.opened))
    .bind(&c.category)
    .bind(&c.region)
    .bind(c.service_type as i16)
    .bind(fr_n)
    .bind(fr_sum)
    .bind(fr_hist)
    .bind(re_n)
    .bind(re_sum)
    .bind(re_hist)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A survey rated: its group's day (the day it opened) counts the scores.
pub async fn rated(tx: &mut PgConnection, s: &Survey) -> Result<(), sqlx::Error> {
    let Some(r) = &s.rating else { return Ok(()) };
    let c = &s.case;
    let inc = Rated::of(&r.scores);
    sqlx::query(&format!(
        "INSERT INTO rollups (merchant_id, day, category, region, service_type, ratings,
             satisfied, score_sums, satisfied_by_dimension)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)
         ON CONFLICT {KEY} DO UPDATE SET
             ratings = rollups.ratings + 1,
             satisfied = rollups.satisfied + EXCLUDED.satisfied,
             score_sums = add_arrays(rollups.score_sums, EXCLUDED.score_sums),
             satisfied_by_dimension =
                 add_arrays(rollups.satisfied_by_dimension, EXCLUDED.satisfied_by_dimension)"
    ))
    .bind(&c.merchant_id)
    .bind(day_of(s.opened))
    .bind(&c.category)
    .bind(&c.region)
    .bind(c.service_type as i16)
    .bind(inc.satisfied)
    .bind(inc.sums.to_vec())
    .bind(inc.satisfied_by_dimension.to_vec())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What an aggregate may be narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub merchant_id: Option<String>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub service_type: Option<i16>,
}

fn array<const N: usize>(v: Vec<i64>) -> Result<[i64; N], sqlx::Error> {
    v.try_into()
        .map_err(|_| sqlx::Error::Decode("rollups: an array of the wrong length".into()))
}

/// The rollup days of `[from, to)` that `f` selects.
pub async fn days(
    pool: &PgPool,
    f: &Filter,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Vec<Day>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT merchant_id, day, category, region, service_type, surveys, ratings, satisfied,
             score_sums, satisfied_by_dimension, first_response_n, first_response_sum,
             first_response_hist, resolution_n, resolution_sum, resolution_hist
         FROM rollups WHERE day >= ",
    );
    q.push_bind(from).push(" AND day < ").push_bind(to);
    for (col, v) in [
        ("merchant_id", &f.merchant_id),
        ("category", &f.category),
        ("region", &f.region),
    ] {
        if let Some(v) = v {
            q.push(format!(" AND {col} = ")).push_bind(v.clone());
        }
    }
    if let Some(t) = f.service_type {
        q.push(" AND service_type = ").push_bind(t);
    }
    let rows = q.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(Day {
                merchant_id: row.try_get("merchant_id")?,
                category: row.try_get("category")?,
                region: row.try_get("region")?,
                service_type: row.try_get("service_type")?,
                day: row.try_get("day")?,
                totals: Totals {
                    surveys: row.try_get("surveys")?,
                    ratings: row.try_get("ratings")?,
                    satisfied: row.try_get("satisfied")?,
                    score_sums: array(row.try_get("score_sums")?)?,
                    satisfied_by_dimension: array(row.try_get("satisfied_by_dimension")?)?,
                    first_response: Measured {
                        n: row.try_get("first_response_n")?,
                        sum: row.try_get("first_response_sum")?,
                        hist: array(row.try_get("first_response_hist")?)?,
                    },
                    resolution: Measured {
                        n: row.try_get("resolution_n")?,
                        sum: row.try_get("resolution_sum")?,
                        hist: array(row.try_get("resolution_hist")?)?,
                    },
                },
            })
        })
        .collect()
}
