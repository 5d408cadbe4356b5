//! A clock ran out (the SLA service's callback): what its expiry means.

use super::{Change, Refusal};
use crate::domain::{
    clocks::{Breach, ClockKind},
    kinds::{Party, State::*},
};

/// A clock ran out: a breach is recorded (the ticket goes on under the desk's eyes),
/// or the awaited party's silence decides the step.
pub(super) fn expired(c: Change, kind: ClockKind) -> Result<Change, Refusal> {
    let Some(clock) = c.t.clock(kind).cloned() else {
        return Err(c.illegal());
    };
    let mut c = c;
    let due = clock.due.unwrap_or(c.now);
    c.t.clocks.retain(|k| k.kind != kind);
    match kind {
        ClockKind::Resolution
        | ClockKind::FirstResponse
        | ClockKind::NextUpdate
        | ClockKind::Execution
        | ClockKind::Closing => {
            c.t.breaches.push(Breach {
                clock: kind,
                due,
                owner: c.t.owner.clone(),
            });
            let c = if c.t.owner.is_some() {
                c.notify(Party::Owner, "clock_breached")
            } else {
                c
            };
            // still owed: a new period starts, so a late ticket never waits unwatched
            // (each period that runs out is one more breach on it)
            let owed = match kind {
                ClockKind::Resolution => !c.t.state.decided() && c.t.state != Proposed,
                ClockKind::FirstResponse => c.t.state == Open,
                ClockKind::Execution => c.t.state == Executing,
                ClockKind::Closing => c.t.state == Resolved,
                _ => false,
            };
            let c = if owed { c.start(kind) } else { c };
            Ok(c.notify(Party::Desk, "clock_breached"))
        }
        ClockKind::MerchantEvidence => {
            c.only_in(&[AwaitingEvidence])?;
            if let Some(r) = c.t.evidence_request.as_mut() {
                r.expired = true;
            }
            c.t.facts.push(format!(
                "the merchant did not answer the evidence request due {}",
                due.to_rfc3339()
            ));
            Ok(c.to(Investigating)
                .notify(Party::Owner, "evidence_deadline_passed")
                .notify(Party::Merchant, "evidence_deadline_passed"))
        }
        ClockKind::ProposalResponse => {
            c.only_in(&[Proposed])?;
            c.t.facts.push(format!(
                "the buyer did not answer the proposal due {}",
                due.to_rfc3339()
            ));
            Ok(c.resume(ClockKind::Resolution)
                .to(Arbitrating)
                .notify(Party::Owner, "proposal_unanswered")
                .notify(Party::Buyer, "proposal_unanswered"))
        }
    }
}
