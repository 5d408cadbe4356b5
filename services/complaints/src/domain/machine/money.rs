//! Carrying out the remedies of an agreement or a ruling, tracked to the end: money
//! goes through refunds (one refund per remedy, followed to its settlement); a remedy
//! that fails stays on the ticket for the owner and the desk. Every remedy done (or
//! none owed) resolves the complaint.

use super::{Change, Effect, Refusal};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Execution, Liability, Party, RemedyKind, State::*},
    ticket::Remedy,
};

/// Starts executing `remedies`: EXECUTING until each is done, RESOLVED if none is owed.
pub(super) fn execute(c: Change, remedies: Vec<Remedy>) -> Change {
    let mut c = c;
    let money: Vec<String> = remedies
        .iter()
        .filter(|r| r.kind.is_money() && r.amount_minor > 0)
        .map(|r| r.id.clone())
        .collect();
    let now = c.now;
    c.t.remedies.extend(remedies.into_iter().map(|r| Remedy {
        ordered: Some(now),
        ..r
    }));
    if c.t.remedies.iter().all(|r| r.execution == Execution::Done) || c.t.remedies.is_empty() {
        return resolved(c);
    }
    let reship = c.t.remedies.iter().any(|r| r.kind == RemedyKind::Reship);
    // carrying the decision out is on a clock too: nothing owed waits unseen
    let mut c = c.to(Executing).start(ClockKind::Execution);
    if reship {
        c = c.notify(Party::Merchant, "reship_requested");
    }
    for id in money {
        if let Some(r) = c.t.remedies.iter_mut().find(|r| r.id == id) {
            r.execution = Execution::InProgress;
        }
        c = c.emit(Effect::RequestRefund { remedy: id });
    }
    c
}

pub(super) fn resolved(mut c: Change) -> Change {
    c.t.resolved = Some(c.now);
    c.stop(ClockKind::Execution)
        .to(Resolved)
        .start(ClockKind::Closing)
        .notify(Party::Buyer, "complaint_resolved")
}

/// Refunds recorded remedy `remedy`'s refund.
pub(super) fn requested(mut c: Change, remedy: String, refund: String) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let r =
        c.t.remedies
            .iter_mut()
            .find(|r| r.id == remedy)
            .ok_or(illegal.clone())?;
    if r.reference == refund {
        return Err(illegal);
    }
    r.reference = refund;
    // the platform pays the buyer now and recovers it: from the carrier for a loss in
    // transit, from the merchant's deposit when the ruling says so
    let advance = match r.borne_by {
        Some(Liability::Carrier) => true,
        // unset is the merchant's, as refunds funds it
        Some(Liability::Merchant) | None => {
            c.t.ruling.as_ref().is_some_and(|x| x.platform_pays_first)
        }
        _ => false,
    };
    Ok(if advance {
        c.emit(Effect::RecordAdvance { remedy })
    } else {
        c
    })
}

/// A remedy's refund settled; the last one resolves the complaint.
pub(super) fn settled(mut c: Change, refund: String) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let now = c.now;
    let r =
        c.t.remedies
            .iter_mut()
            .find(|r| r.reference == refund && r.execution != Execution::Done)
            .ok_or(illegal)?;
    r.execution = Execution::Done;
    r.done = Some(now);
    if c.t.state == Executing && c.t.remedies.iter().all(|r| r.execution == Execution::Done) {
        return Ok(resolved(c));
    }
    Ok(c)
}

/// A remedy's refund failed: shown on the ticket, the owner and the desk told.
pub(super) fn failed(mut c: Change, refund: String) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let r =
        c.t.remedies
            .iter_mut()
            .find(|r| r.reference == refund && r.execution == Execution::InProgress)
            .ok_or(illegal)?;
    r.execution = Execution::Failed;
    Ok(c.notify(Party::Owner, "remedy_failed")
        .notify(Party::Desk, "remedy_failed"))
}

/// An agent (or the service carrying it out) records a remedy's execution: a reship's
/// shipment, a repair's order. Money remedies are recorded by refunds' events.
pub(super) fn record(
    mut c: Change,
    remedy: String,
    execution: Execution,
    reference: String,
) -> Result<Change, Refusal> {
    c.only_in(&[Executing])?;
    let now = c.now;
    let Some(r) = c.t.remedies.iter_mut().find(|r| r.id == remedy) else {
        return Err(Refusal::Invalid {
            field: "remedy_id",
            why: "no such remedy on this complaint".into(),
        });
    };
    if r.kind.is_money() {
        return Err(Refusal::Precondition {
            reason: "PAID_THROUGH_REFUNDS",
            why: "a money remedy is recorded by its refund's settlement".into(),
        });
    }
    if r.kind == RemedyKind::Reship && execution != Execution::Failed {
        return Err(Refusal::Precondition {
            reason: "SHIPPED_THROUGH_LOGISTICS",
            why: "a reship is recorded with its parcel (carrier_code, tracking_number) and \
                  done when logistics reports it delivered"
                .into(),
        });
    }
    r.execution = execution;
    r.reference = reference;
    if execution == Execution::Done {
        r.done = Some(now);
    }
    if c.t.remedies.iter().all(|r| r.execution == Execution::Done) {
        return Ok(resolved(c));
    }
    Ok(c)
}
