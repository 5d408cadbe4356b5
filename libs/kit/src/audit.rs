//! The audit trail (SPEC §9: actor, time, reason, before/after): one rendering of a
//! stored audit row as `common.v1.AuditEntry` and one page rule for the `List*Audit`
//! methods, so every service that exposes its trail answers the same shape. The rows
//! live in each service's schema, written in the change's own transaction; a service
//! whose `audit` table has the standard columns (below) stores and reads them with
//! [`append`] and [`read`].
//!
//! The standard `audit` table, which a service creates in its own migrations (states are
//! the contract's enum numbers):
//!
//! ```sql
//! CREATE TABLE audit (
//!     id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
//!     case_id     uuid NOT NULL REFERENCES <cases> (id),
//!     at          timestamptz NOT NULL DEFAULT now(),
//!     actor_role  text NOT NULL,
//!     actor_id    text NOT NULL,
//!     from_state  smallint,
//!     to_state    smallint NOT NULL,
//!     action      text NOT NULL,
//!     reason      text NOT NULL DEFAULT '',
//!     request_id  text NOT NULL DEFAULT ''
//! );
//! CREATE INDEX audit_by_case ON audit (case_id, id);
//! ```

use aftersales_proto::aftersales::common::v1::{Actor, ActorRole, AuditEntry};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{error::Violations, page::Page, time::ts};

/// The actor role a row records: the token role names, plus `system` for the suite's own
/// moves (timer expiries, a payment gateway's or a carrier's answer applied by a worker).
pub fn actor_role(role: &str) -> ActorRole {
    match role {
        "buyer" => ActorRole::Buyer,
        "merchant" => ActorRole::Merchant,
        "agent" => ActorRole::Agent,
        "arbitrator" => ActorRole::Arbitrator,
        "admin" => ActorRole::Admin,
        "service" => ActorRole::Service,
        "partner" => ActorRole::Partner,
        "system" => ActorRole::System,
        _ => ActorRole::Unspecified,
    }
}

/// One stored row, borrowed from the service's own row type.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// When the change committed.
    pub at: DateTime<Utc>,
    /// The actor's role name (see [`actor_role`]) and id.
    pub actor: (&'a str, &'a str),
    /// The state before (the contract's enum name without its prefix); `None` on creation.
    pub from_state: Option<&'a str>,
    /// The state after.
    pub to_state: &'a str,
    /// The action in lower_snake_case.
    pub action: &'a str,
    /// Why.
    pub reason: &'a str,
    /// The causing call's request id; empty for timers and workers.
    pub request_id: &'a str,
}

/// The contract's view of a row.
pub fn entry(r: Row<'_>) -> AuditEntry {
    AuditEntry {
        time: Some(ts(r.at)),
        actor: Some(Actor {
            role: actor_role(r.actor.0) as i32,
            id: r.actor.1.to_string(),
        }),
        from_state: r.from_state.unwrap_or_default().to_string(),
        to_state: r.to_state.to_string(),
        action: r.action.to_string(),
        reason: r.reason.to_string(),
        request_id: r.request_id.to_string(),
    }
}

/// A row to append: who, from which state to which (the contract's numbers), what, why.
#[derive(Clone, Copy, Debug)]
pub struct Write<'a> {
    pub actor: (&'a str, &'a str),
    pub from_state: Option<i16>,
    pub to_state: i16,
    pub action: &'a str,
    pub reason: &'a str,
    pub request_id: &'a str,
}

/// Appends `w` to `case`'s trail in `tx`.
pub async fn append(tx: &mut PgConnection, case: Uuid, w: &Write<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (case_id, actor_role, actor_id, from_state, to_state, action,
             reason, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case)
    .bind(w.actor.0)
    .bind(w.actor.1)
    .bind(w.from_state)
    .bind(w.to_state)
    .bind(w.action)
    .bind(w.reason)
    .bind(w.request_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Stored {
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

/// `case`'s rows after row `after`, oldest first, at most `limit`.
pub async fn read(
    pool: &PgPool,
    case: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<Stored>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_role, actor_id, from_state, to_state, action, reason, request_id
         FROM audit WHERE case_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(case)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The contract's view of a stored row, its states named by `state`.
pub fn stored_entry(s: &Stored, state: fn(i16) -> &'static str) -> AuditEntry {
    entry(Row {
        at: s.at,
        actor: (&s.actor_role, &s.actor_id),
        from_state: s.from_state.map(state),
        to_state: state(s.to_state),
        action: &s.action,
        reason: &s.reason,
        request_id: &s.request_id,
    })
}

/// The page of a `List*Audit` request: rows are keyed by their serial id, oldest first.
pub fn page(page_size: i32, page_token: &str) -> crate::Result<Page<i64>> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, page_size, page_token, |t| {
        t.parse().ok().filter(|id: &i64| *id > 0)
    });
    v.finish()?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_name_maps_and_unknown_ones_are_unspecified() {
        for (name, role) in [
            ("buyer", ActorRole::Buyer),
            ("merchant", ActorRole::Merchant),
            ("agent", ActorRole::Agent),
            ("arbitrator", ActorRole::Arbitrator),
            ("admin", ActorRole::Admin),
            ("service", ActorRole::Service),
            ("partner", ActorRole::Partner),
            ("system", ActorRole::System),
            ("root", ActorRole::Unspecified),
        ] {
            assert_eq!(actor_role(name), role, "{name}");
        }
    }

    #[test]
    fn audit_pages_follow_the_page_rule_and_take_only_their_own_tokens() {
        assert_eq!(page(0, "").unwrap().size, 20);
        assert_eq!(page(5, "42").unwrap().after, Some(42));
        assert!(page(101, "").is_err());
        assert!(page(5, "not-a-row").is_err());
        assert!(page(5, "-3").is_err());
    }
}
