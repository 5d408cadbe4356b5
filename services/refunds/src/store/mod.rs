//! The refunds schema: the only module that knows table names (`audit.rs` holds the
//! audit trail's). Writes take the caller's transaction so a change, its audit row and
//! its outbox rows commit together.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kit::db::ResultExt;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::refund::{Cap, Funding, Kind, RecoverFrom, State};

mod audit;

pub use audit::{Audit, AuditRow, audit, audit_page};

/// A stored refund.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefundRow {
    pub id: Uuid,
    pub kind: i16,
    pub state: i16,
    pub source_case: String,
    pub order_id: String,
    pub order_line_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub funded_by: i16,
    pub payout_seq: i32,
    pub payment_ref: String,
    pub attempts: i32,
    pub failures: i32,
    pub last_error: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub settle_due: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub submit_time: Option<DateTime<Utc>>,
    pub settle_time: Option<DateTime<Utc>>,
    pub update_time: DateTime<Utc>,
    pub advance_from: Option<i16>,
    pub advance_debtor: Option<String>,
    pub advance_reason: Option<String>,
    pub advance_time: Option<DateTime<Utc>>,
    pub recovered_minor: i64,
    pub recovered_time: Option<DateTime<Utc>>,
}

impl RefundRow {
    /// The stored state (the column only ever holds valid values).
    pub fn state(&self) -> State {
        State::from_i16(self.state).unwrap_or(State::Requested)
    }

    /// The stored kind.
    pub fn kind(&self) -> Kind {
        Kind::from_i32(self.kind as i32).unwrap_or(Kind::Goods)
    }

    /// The resource name.
    pub fn name(&self) -> String {
        crate::names::refund(self.id)
    }
}

/// What the order directory says the refunded line was paid.
#[derive(Clone, Debug)]
pub struct Paid {
    pub goods: i64,
    pub shipping: i64,
}

/// A refund to insert.
#[derive(Clone, Debug)]
pub struct NewRefund {
    pub id: Uuid,
    pub kind: Kind,
    pub source_case: String,
    pub order_id: String,
    pub order_line_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub funded_by: Funding,
    pub payment_ref: String,
    pub paid: Paid,
    pub settle_due: DateTime<Utc>,
    pub create_time: DateTime<Utc>,
}

/// Why a write was refused by the database's own rules.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A line cap CHECK constraint: the named total would exceed what was paid.
    #[error("{0} would exceed what was paid")]
    CapExceeded(&'static str),
    /// The line was first refunded in another currency.
    #[error("the line was paid in {0}")]
    CurrencyMismatch(String),
    /// The case already has this once-per-case kind.
    #[error("the case already has one")]
    OncePerCase,
    /// Recovery above the advance.
    #[error("recovery would exceed the advance")]
    RecoveryExceedsAdvance,
    /// Anything else.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The named constraints this schema declares, as the refusals they mean (DESIGN §7);
/// used with `kit::db::ResultExt::on_constraints` at the queries that can violate them.
fn refusal(constraint: &str) -> Option<WriteError> {
    Some(match constraint {
        "goods_refund_within_paid" => WriteError::CapExceeded("goods"),
        "shipping_refund_within_paid" => WriteError::CapExceeded("shipping fee"),
        "compensation_within_paid" => WriteError::CapExceeded("compensation"),
        "refunds_once_per_case" => WriteError::OncePerCase,
        "recovery_within_advance" => WriteError::RecoveryExceedsAdvance,
        _ => return None,
    })
}

const COLUMNS: &str =
    "id, kind, state, source_case, order_id, order_line_id, buyer_id, merchant_id,
    amount_minor, currency, reason, funded_by, payout_seq, payment_ref, attempts, failures,
    last_error, next_attempt_at, settle_due, create_time, submit_time, settle_time, update_time,
    advance_from, advance_debtor, advance_reason, advance_time, recovered_minor, recovered_time";

/// Draws the refund on its line's cap and inserts it, due for submission now. The line
/// row's lock serialises concurrent refunds of one line; its CHECK constraints refuse the
/// one that would overdraw it.
pub async fn insert(tx: &mut PgConnection, r: &NewRefund) -> Result<RefundRow, WriteError> {
    let (goods, shipping, compensation) = match r.kind.cap() {
        Cap::Goods => (r.amount_minor, 0, 0),
        Cap::Shipping => (0, r.amount_minor, 0),
        Cap::Compensation => (0, 0, r.amount_minor),
        Cap::None => (0, 0, 0),
    };
    let currency: String = sqlx::query_scalar(
        "INSERT INTO lines AS l (order_id, order_line_id, currency, goods_paid, shipping_paid,
                                 goods_refunded, shipping_refunded, compensation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT lines_pk DO UPDATE SET
             goods_refunded = l.goods_refunded + EXCLUDED.goods_refunded,
             shipping_refunded = l.shipping_refunded + EXCLUDED.shipping_refunded,
             compensation = l.compensation + EXCLUDED.compensation
         RETURNING currency",
    )
    .bind(&r.order_id)
    .bind(&r.order_line_id)
    .bind(&r.currency)
    .bind(r.paid.goods)
    .bind(r.paid.shipping)
    .bind(goods)
    .bind(shipping)
    .bind(compensation)
    .fetch_one(&mut *tx)
    .await
    .on_constraints(refusal)?;
    if currency != r.currency {
        return Err(WriteError::CurrencyMismatch(currency));
    }
    let row = sqlx::query_as::<_, RefundRow>(&format!(
        "INSERT INTO refunds (id, kind, state, source_case, order_id, order_line_id, buyer_id,
             merchant_id, amount_minor, currency, reason, funded_by, payment_ref, settle_due,
             create_time, update_time, next_attempt_at)
         VALUES ($1, $2, {}, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, now())
         RETURNING {COLUMNS}",
        State::Requested as i16
    ))
    .bind(r.id)
    .bind(r.kind as i16)
    .bind(&r.source_case)
    .bind(&r.order_id)
    .bind(&r.order_line_id)
    .bind(&r.buyer_id)
    .bind(&r.merchant_id)
    .bind(r.amount_minor)
    .bind(&r.currency)
    .bind(&r.reason)
    .bind(r.funded_by as i16)
    .bind(&r.payment_ref)
    .bind(r.settle_due)
    .bind(r.create_time)
    .fetch_one(&mut *tx)
    .await
    .on_constraints(refusal)?;
    Ok(row)
}

/// What remains refundable on a line, per cap, for error messages: (goods, shipping,
/// compensation). `None` when nothing was refunded on it yet.
pub async fn remaining(
    pool: &PgPool,
    order_id: &str,
    line_id: &str,
) -> Result<Option<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT goods_paid - goods_refunded, shipping_paid - shipping_refunded,
                goods_paid - compensation
         FROM lines WHERE order_id = $1 AND order_line_id = $2",
    )
    .bind(order_id)
    .bind(line_id)
    .fetch_optional(pool)
    .await
}

/// One refund.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// One refund, locked for update until `tx` ends.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// Claims up to `limit` refunds due for a payout attempt and pushes them one `lease`
/// ahead, so another worker (or this one after a crash) takes them again only once the
/// lease has run out. Counts the attempt when it will be a submission.
pub async fn claim_due(
    pool: &PgPool,
    lease: Duration,
    limit: i64,
) -> Result<Vec<RefundRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET next_attempt_at = now() + make_interval(secs => $1),
                attempts = attempts + (submit_time IS NULL)::int
         WHERE id IN (SELECT id FROM refunds
                      WHERE next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $2
                      FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(lease.as_secs_f64())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The instant of the next due refund, for the worker's sleep.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(next_attempt_at) FROM refunds WHERE next_attempt_at IS NOT NULL")
        .fetch_one(pool)
        .await
}

/// A change of a locked refund's payout bookkeeping.
#[derive(Clone, Debug)]
pub struct Update {
    pub state: State,
    pub next_in: Option<Duration>,
    pub failures: i32,
    pub last_error: Option<String>,
    pub accepted: bool,
    pub settled: bool,
    pub payout_seq: i32,
}

/// Writes `u` to refund `id` (locked by the caller).
pub async fn update(tx: &mut PgConnection, id: Uuid, u: &Update) -> Result<RefundRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET state = $2,
             next_attempt_at = CASE WHEN $3::float8 IS NULL THEN NULL
                                    ELSE now() + make_interval(secs => $3) END,
             failures = $4,
             last_error = COALESCE($5, last_error),
             submit_time = CASE WHEN $6 THEN COALESCE(submit_time, now()) ELSE submit_time END,
             settle_time = CASE WHEN $7 THEN now() ELSE settle_time END,
             payout_seq = $8,
             update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(u.state as i16)
    .bind(u.next_in.map(|d| d.as_secs_f64()))
    .bind(u.failures)
    .bind(&u.last_error)
    .bind(u.accepted)
    .bind(u.settled)
    .bind(u.payout_seq)
    .fetch_one(&mut *tx)
    .await
}

/// Starts a new submission series for a retried refund: due now, not yet submitted.
pub async fn restart(
    tx: &mut PgConnection,
    id: Uuid,
    payout_seq: i32,
    resubmit: bool,
) -> Result<RefundRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET state = {}, next_attempt_at = now(), failures = 0, payout_seq = $2,
             submit_time = CASE WHEN $3 THEN NULL ELSE submit_time END, update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}",
        State::Requested as i16
    ))
    .bind(id)
    .bind(payout_seq)
    .bind(resubmit)
    .fetch_one(&mut *tx)
    .await
}

/// Escalates a refund whose settlement clock ran out. Its payout, if in flight, is still
/// followed (next_attempt_at is left alone).
pub async fn escalate(
    tx: &mut PgConnection,
    id: Uuid,
    error: &str,
) -> Result<RefundRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET state = {}, last_error = $2, update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}",
        State::Escalated as i16
    ))
    .bind(id)
    .bind(error)
    .fetch_one(&mut *tx)
    .await
}

/// Records a platform advance on refund `id`.
pub async fn set_advance(
    tx: &mut PgConnection,
    id: Uuid,
    from: RecoverFrom,
    debtor: &str,
    reason: &str,
) -> Result<RefundRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE refunds SET advance_from = $2, advance_debtor = $3, advance_reason = $4,
             advance_time = now(), update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(from as i16)
    .bind(debtor)
    .bind(reason)
    .fetch_one(&mut *tx)
    .await
}

/// Adds a recovery against refund `id`'s advance; the CHECK refuses more than advanced.
pub async fn add_recovery(
    tx: &mut PgConnection,
    id: Uuid,
    amount_minor: i64,
    reference: &str,
) -> Result<RefundRow, WriteError> {
    sqlx::query(
        "INSERT INTO recoveries (id, refund_id, amount_minor, reference) VALUES ($1, $2, $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(amount_minor)
    .bind(reference)
    .execute(&mut *tx)
    .await?;
    sqlx::query_as(&format!(
        "UPDATE refunds SET recovered_minor = recovered_minor + $2,
             recovered_time = CASE WHEN recovered_minor + $2 = amount_minor THEN now() END,
             update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(amount_minor)
    .fetch_one(&mut *tx)
    .await
    .on_constraints(refusal)
}

/// The filter of a list query; `None` fields do not filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub order_id: Option<String>,
    pub source_case: Option<String>,
    pub merchant_id: Option<String>,
    pub buyer_id: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub kinds: Vec<i16>,
    pub states: Vec<i16>,
}

fn push_filter(q: &mut QueryBuilder<'_, Postgres>, f: &Filter) {
    q.push(" WHERE true");
    if let Some(v) = &f.order_id {
        q.push(" AND order_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.source_case {
        q.push(" AND source_case = ").push_bind(v.clone());
    }
    if let Some(v) = &f.merchant_id {
        q.push(" AND merchant_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.buyer_id {
        q.push(" AND buyer_id = ").push_bind(v.clone());
    }
    if let Some(v) = f.start {
        q.push(" AND create_time >= ").push_bind(v);
    }
    if let Some(v) = f.end {
        q.push(" AND create_time < ").push_bind(v);
    }
    if !f.kinds.is_empty() {
        q.push(" AND kind = ANY(")
            .push_bind(f.kinds.clone())
            .push(")");
    }
    if !f.states.is_empty() {
        q.push(" AND state = ANY(")
            .push_bind(f.states.clone())
            .push(")");
    }
}

/// A page of refunds matching `f`, newest first, after the refund `after`.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RefundRow>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM refunds"));
    push_filter(&mut q, f);
    if let Some(a) = after {
        q.push(" AND id < ").push_bind(a);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

/// One kind's totals in one currency: (kind, currency, count, requested, settled).
pub type Total = (i16, String, i64, i64, i64);

/// Totals per kind and currency over every refund matching `f`.
pub async fn totals(pool: &PgPool, f: &Filter) -> Result<Vec<Total>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!(
        "SELECT kind, currency, count(*), sum(amount_minor)::int8,
                COALESCE(sum(amount_minor) FILTER (WHERE state = {}), 0)::int8
         FROM refunds",
        State::Settled as i16
    ));
    push_filter(&mut q, f);
    q.push(" GROUP BY kind, currency ORDER BY kind, currency");
    q.build_query_as().fetch_all(pool).await
}
