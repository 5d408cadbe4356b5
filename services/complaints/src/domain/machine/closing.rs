//! The end of a ticket: closing a resolved one with its root cause for the archive
//! (`ComplaintClosed` opens the satisfaction survey), and the follow-up visit after.

use super::{Change, Event, Refusal};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Party, State::*},
};

pub(super) fn close(c: Change, cause: String, summary: String) -> Result<Change, Refusal> {
    if c.t.state == Executing {
        return Err(Refusal::Precondition {
            reason: "REMEDIES_PENDING",
            why: "a remedy is still being carried out (state EXECUTING)".into(),
        });
    }
    c.only_in(&[Resolved])?;
    let mut c = c;
    c.t.cause = cause;
    c.t.close_summary = summary;
    c.t.closed = Some(c.now);
    Ok(c.stop(ClockKind::Closing)
        .to(Closed)
        .publish(Event::Closed)
        .notify(Party::Buyer, "complaint_closed"))
}

/// The follow-up visit: after closure, once (the buyer's satisfaction with the handling).
pub(super) fn follow_up(
    c: Change,
    agent: String,
    satisfaction: u32,
    resolved: bool,
    comment: String,
) -> Result<Change, Refusal> {
    c.only_in(&[Closed])?;
    if c.t.follow_up.is_some() {
        return Err(Refusal::Precondition {
            reason: "ALREADY_FOLLOWED_UP",
            why: "the follow-up visit is already recorded".into(),
        });
    }
    let mut c = c;
    c.t.follow_up = Some(crate::domain::ticket::FollowUp {
        satisfaction,
        resolved,
        comment,
        agent,
        at: c.now,
    });
    Ok(c)
}
