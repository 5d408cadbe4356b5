//! The only files with table names: surveys in and out (here), the daily rollups
//! ([`rollups`]), the CSAT alert ([`alerts`]), the scorecard's counters ([`merchants`]).

pub mod alerts;
pub mod merchants;
pub mod rollups;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row, postgres::PgRow};
use uuid::Uuid;

use crate::domain::{
    scores::Scores,
    survey::{Finished, Rating, ServiceType, State, Survey},
};

const COLUMNS: &str = "id, case_name, service_type, state, buyer_id, merchant_id, category, \
     region, requested_at, first_response_at, finished_at, open_time, expire_time, scores, \
     comment, rate_time";

fn survey(row: &PgRow) -> Result<Survey, sqlx::Error> {
    let bad = |what: &str| sqlx::Error::Decode(format!("surveys: bad {what}").into());
    let service_type =
        ServiceType::from_i16(row.try_get("service_type")?).ok_or_else(|| bad("service_type"))?;
    let state = State::from_i16(row.try_get("state")?).ok_or_else(|| bad("state"))?;
    let case = Finished {
        case_name: row.try_get("case_name")?,
        service_type,
        buyer_id: row.try_get("buyer_id")?,
        merchant_id: row.try_get("merchant_id")?,
        category: row.try_get("category")?,
        region: row.try_get("region")?,
        requested: row.try_get("requested_at")?,
        first_response: row.try_get("first_response_at")?,
        finished: row.try_get("finished_at")?,
    };
    let opened: DateTime<Utc> = row.try_get("open_time")?;
    let expires: DateTime<Utc> = row.try_get("expire_time")?;
    let scores: Option<Vec<i16>> = row.try_get("scores")?;
    let rating = match (
        scores,
        row.try_get::<Option<DateTime<Utc>>, _>("rate_time")?,
    ) {
        (Some(v), Some(at)) => {
            let raw: [u32; 5] = v
                .iter()
                .map(|x| *x as u32)
                .collect::<Vec<_>>()
                .try_into()
                .map_err(|_| bad("scores"))?;
            Some(Rating {
                scores: Scores::new(raw).map_err(|_| bad("scores"))?,
                comment: row.try_get("comment")?,
                at,
            })
        }
        _ => None,
    };
    let window = expires - opened;
    let mut s = Survey::open(row.try_get("id")?, case, opened, window);
    s.state = state;
    s.rating = rating;
    Ok(s)
}

/// Records `s` unless its case has a survey already: true when this call opened it.
pub async fn open(tx: &mut PgConnection, s: &Survey) -> Result<bool, sqlx::Error> {
    let c = &s.case;
    let inserted = sqlx::query(
        "INSERT INTO surveys (id, case_name, service_type, state, buyer_id, merchant_id,
             category, region, requested_at, first_response_at, finished_at, open_time,
             expire_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (case_name) DO NOTHING",
    )
    .bind(s.id)
    .bind(&c.case_name)
    .bind(c.service_type as i16)
    .bind(s.state as i16)
    .bind(&c.buyer_id)
    .bind(&c.merchant_id)
    .bind(&c.category)
    .bind(&c.region)
    .bind(c.requested)
    .bind(c.first_response)
    .bind(c.finished)
    .bind(s.opened)
    .bind(s.expires)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// One survey.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Survey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM surveys WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(survey).transpose()
}

/// One survey, locked until `tx` ends: its rating and its expiry are serial.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<Survey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM surveys WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await?;
    row.as_ref().map(survey).transpose()
}

/// Writes `s`'s state and rating.
pub async fn update(tx: &mut PgConnection, s: &Survey) -> Result<(), sqlx::Error> {
    let scores: Option<Vec<i16>> = s
        .rating
        .as_ref()
        .map(|r| r.scores.0.iter().map(|v| i16::from(*v)).collect());
    sqlx::query(
        "UPDATE surveys SET state = $2, scores = $3, comment = $4, rate_time = $5 WHERE id = $1",
    )
    .bind(s.id)
    .bind(s.state as i16)
    .bind(scores)
    .bind(s.rating.as_ref().map_or("", |r| r.comment.as_str()))
    .bind(s.rating.as_ref().map(|r| r.at))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A page of `buyer`'s surveys in `states` (all when empty), newest first, after `after`.
pub async fn list(
    pool: &PgPool,
    buyer: Option<&str>,
    states: &[i16],
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Survey>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM surveys WHERE true"));
    if let Some(b) = buyer {
        q.push(" AND buyer_id = ").push_bind(b.to_string());
    }
    if !states.is_empty() {
        q.push(" AND state = ANY(")
            .push_bind(states.to_vec())
            .push(")");
    }
    if let Some(id) = after {
        q.push(" AND id < ").push_bind(id);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    let rows = q.build().fetch_all(pool).await?;
    rows.iter().map(survey).collect()
}
