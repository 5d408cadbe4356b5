//! Who has the ticket: the first agent's claim (seed 002: first-contact ownership), a
//! transfer by the owner (or an admin, with a reason), and the expert group.

use super::{Actor, Change, Refusal};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Party, State::*},
    ticket::Escalation,
};

pub(super) fn claim(c: Change, agent: String) -> Result<Change, Refusal> {
    if let Some(owner) = &c.t.owner {
        return Err(Refusal::Precondition {
            reason: "ALREADY_OWNED",
            why: format!("{owner} owns this complaint until it closes"),
        });
    }
    c.only_in(&[Open])?;
    let mut c = c;
    c.t.owner = Some(agent);
    c.t.claimed = Some(c.now);
    Ok(c.stop(ClockKind::FirstResponse)
        .to(Investigating)
        .notify(Party::Buyer, "complaint_claimed"))
}

/// Only the owner, or an admin explicitly (with a reason: the audit keeps it).
pub(super) fn owner_only(c: &Change, by: &Actor) -> Result<(), Refusal> {
    match &c.t.owner {
        Some(owner) if *owner == by.id && by.role == "agent" => Ok(()),
        _ if by.is_admin() => Ok(()),
        Some(owner) => Err(Refusal::NotYours(format!("{owner} owns this complaint"))),
        None => Err(Refusal::Precondition {
            reason: "NOT_CLAIMED",
            why: "nobody owns this complaint yet: claim it first".into(),
        }),
    }
}

pub(super) fn transfer(
    c: Change,
    by: Actor,
    to: String,
    reason: String,
) -> Result<Change, Refusal> {
    if c.t.owner.is_none() {
        return Err(Refusal::Precondition {
            reason: "NOT_CLAIMED",
            why: "an unowned complaint is claimed, not transferred".into(),
        });
    }
    if c.t.state == Closed {
        return Err(c.illegal());
    }
    owner_only(&c, &by)?;
    if c.t.owner.as_deref() == Some(to.as_str()) {
        return Err(Refusal::Invalid {
            field: "to_agent_id",
            why: "already owns it".into(),
        });
    }
    let _ = reason;
    let mut c = c;
    c.t.owner = Some(to);
    Ok(c.notify(Party::Owner, "complaint_transferred"))
}

pub(super) fn escalate(
    c: Change,
    group: String,
    reason: String,
    automatic: bool,
) -> Result<Change, Refusal> {
    if c.t.state.decided() {
        return Err(c.illegal());
    }
    if c.t.escalation.is_some() {
        return Err(Refusal::Precondition {
            reason: "ALREADY_ESCALATED",
            why: "the expert group already has it".into(),
        });
    }
    let mut c = c;
    c.t.escalation = Some(Escalation {
        group,
        reason,
        automatic,
        at: c.now,
    });
    Ok(c.notify(Party::Desk, "complaint_escalated"))
}
