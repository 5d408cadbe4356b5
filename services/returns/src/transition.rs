//! One transition, start to finish, for every door a command comes through (the API, a
//! timer expiry, another service's event): apply the machine, date the new clock, free
//! the units of a request that ends without a return, store the request, write its
//! effects to the outbox and its audit row, all in the caller's transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::{
    domain::{
        case::Case,
        clocks::{self, ClockKind},
        machine::{self, Command, Effect, Refusal},
        policy::Policy,
    },
    effects,
    settings::Settings,
    store::{self, AuditRow},
};

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// `units_within_bought`: the units would exceed those bought.
    #[error("more units than bought")]
    Units,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<store::WriteError> for TransitionError {
    fn from(e: store::WriteError) -> Self {
        match e {
            store::WriteError::Db(e) => Self::Db(e),
            store::WriteError::Units => Self::Units,
        }
    }
}

/// The merchant's policy, or the platform defaults. Read on the caller's connection: a
/// transaction holding a row lock must not wait for a second pooled connection.
pub async fn policy(conn: &mut PgConnection, merchant: &str) -> Result<Policy, sqlx::Error> {
    Ok(store::policy(conn, merchant)
        .await?
        .map(|(p, _)| p)
        .unwrap_or_default())
}

/// Dates a freshly started clock from its span under `policy` and the settings.
pub fn date_clock(settings: &Settings, policy: &Policy, c: &mut Case) {
    let Some(clock) = c.clock.as_ref().filter(|k| k.due.is_none()) else {
        return;
    };
    let (kind, start) = (clock.kind, clock.start);
    let span = clocks::span(
        kind,
        settings.clock_override(kind),
        policy,
        &settings.platform,
        c,
    );
    let due = clocks::due(&span, start);
    if let Some(k) = c.clock.as_mut() {
        k.due = Some(due);
    }
    if kind == ClockKind::RejectAppeal
        && let Some(r) = c.rejection.as_mut()
    {
        r.appeal_deadline = Some(due);
    }
}

/// Who caused a transition, for the audit trail.
pub struct By<'a> {
    pub role: &'a str,
    pub id: &'a str,
    pub reason: &'a str,
    pub request_id: &'a str,
}

/// Applies `cmd` to `before` (locked by the caller in `tx`) and writes everything.
pub async fn apply(
    tx: &mut PgConnection,
    settings: &Settings,
    policy: &Policy,
    before: &Case,
    cmd: Command,
    by: By<'_>,
    now: DateTime<Utc>,
) -> Result<Case, TransitionError> {
    let action = cmd.action();
    let (mut after, effects) =
        machine::apply(before, cmd, now).map_err(TransitionError::Refused)?;
    if effects.contains(&Effect::StartClock) {
        date_clock(settings, policy, &mut after);
    }
    if after.state.releases_units() && !before.state.releases_units() {
        store::claim_units(
            tx,
            &after.order_id,
            &after.order_line_id,
            0,
            -(after.quantity as i32),
        )
        .await?;
    }
    store::update(tx, &after).await?;
    let span = effects::running_span(settings, &after, policy);
    let mut out = kit::outbox::Batch::default();
    effects::write(&mut out, &after, &effects, span.as_ref());
    out.flush(tx).await?;
    store::audit(
        tx,
        after.id,
        &AuditRow {
            actor: (by.role, by.id),
            from: Some(before.state),
            to: after.state,
            action,
            reason: by.reason,
            request_id: by.request_id,
        },
    )
    .await?;
    Ok(after)
}
