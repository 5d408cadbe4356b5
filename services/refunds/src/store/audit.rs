//! The audit trail (SPEC §9: actor, time, reason, before/after): one row per change of a
//! refund, written in the change's own transaction and never edited, read page by page.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::refund::State;

/// One change to record.
#[derive(Clone, Copy, Debug)]
pub struct Audit<'a> {
    /// (role, id) of whoever made it: a person, a calling service, `payment-gateway`, `sla`.
    pub actor: (&'a str, &'a str),
    /// The state before; `None` for the creating row.
    pub from: Option<State>,
    /// The state after (the same as `from` for a change of data only).
    pub to: State,
    /// The action in lower_snake_case (`create`, `settle`, `retry` ...).
    pub action: &'a str,
    /// Why, in the actor's or the rule's words.
    pub reason: &'a str,
    /// The request id of the call that caused it; empty for the worker and timers.
    pub request_id: &'a str,
}

/// Appends an audit row for refund `id`.
pub async fn audit(tx: &mut PgConnection, id: Uuid, a: &Audit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (refund_id, actor_role, actor_id, from_state, to_state, action,
                            reason, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(a.actor.0)
    .bind(a.actor.1)
    .bind(a.from.map(|s| s as i16))
    .bind(a.to as i16)
    .bind(a.action)
    .bind(a.reason)
    .bind(a.request_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored audit row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_role: String,
    pub actor_id: String,
    pub from_state: Option<i16>,
    pub to_state: i16,
    pub action: String,
    pub reason: String,
    pub request_id: String,
}

/// Up to `limit` rows of refund `id`'s trail after row `after`, oldest first.
pub async fn audit_page(
    pool: &PgPool,
    id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_role, actor_id, from_state, to_state, action, reason, request_id
         FROM audit WHERE refund_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}
