//! Breaches: the deadlines that expired, as operators and scorecards report on them.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// A breach row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BreachRow {
    pub id: i64,
    pub timer_id: Uuid,
    pub owner: String,
    pub subject: String,
    pub kind: String,
    pub due_time: DateTime<Utc>,
    pub fired_time: DateTime<Utc>,
    pub lateness_ms: i64,
    pub labels: sqlx::types::Json<std::collections::BTreeMap<String, String>>,
}

/// Filters of a breach listing.
#[derive(Debug, Default)]
pub struct BreachFilter {
    pub owner: Option<String>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub label: Option<(String, String)>,
    pub after: i64,
    pub limit: i64,
}

/// Breaches matching `f` and the total count of matches.
pub async fn list_breaches(
    pool: &PgPool,
    f: &BreachFilter,
) -> Result<(Vec<BreachRow>, i64), sqlx::Error> {
    let filter = |qb: &mut QueryBuilder<'_, Postgres>| {
        if let Some(o) = &f.owner {
            qb.push(" AND owner = ").push_bind(o.clone());
        }
        if let Some(k) = &f.kind {
            qb.push(" AND kind = ").push_bind(k.clone());
        }
        if let Some(t) = f.from {
            qb.push(" AND due_time >= ").push_bind(t);
        }
        if let Some(t) = f.to {
            qb.push(" AND due_time < ").push_bind(t);
        }
        if let Some((k, v)) = &f.label {
            qb.push(" AND labels ->> ")
                .push_bind(k.clone())
                .push(" = ")
                .push_bind(v.clone());
        }
    };
    let mut qb = QueryBuilder::new(
        "SELECT id, timer_id, owner, subject, kind, due_time, fired_time, lateness_ms, labels FROM breaches WHERE true",
    );
    filter(&mut qb);
    qb.push(" AND id > ")
        .push_bind(f.after)
        .push(" ORDER BY id LIMIT ")
        .push_bind(f.limit);
    let rows = qb.build_query_as().fetch_all(pool).await?;
    let mut qc = QueryBuilder::new("SELECT count(*) FROM breaches WHERE true");
    filter(&mut qc);
    let (total,): (i64,) = qc.build_query_as().fetch_one(pool).await?;
    Ok((rows, total))
}
