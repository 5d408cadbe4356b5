//! One transition, start to finish, for every door a command comes through (the API, a
//! timer expiry, another service's event): apply the machine, store the repair, write
//! its effects to the outbox and its audit row, all in the caller's transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::{
    domain::{
        machine::{self, Command, Refusal},
        repair::Repair,
    },
    effects,
    settings::Settings,
    store,
};

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
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
    before: &Repair,
    cmd: Command,
    by: By<'_>,
    now: DateTime<Utc>,
) -> Result<Repair, TransitionError> {
    let action = cmd.action();
    let (after, fx) =
        machine::apply(before, cmd, now, &settings.spans).map_err(TransitionError::Refused)?;
    store::update(tx, &after).await?;
    let mut out = kit::outbox::Batch::default();
    effects::write(&mut out, &after, before.state, action, &fx);
    out.flush(tx).await?;
    kit::audit::append(
        tx,
        after.id,
        &kit::audit::Write {
            actor: (by.role, by.id),
            from_state: Some(before.state as i16),
            to_state: after.state as i16,
            action,
            reason: by.reason,
            request_id: by.request_id,
        },
    )
    .await?;
    Ok(after)
}
