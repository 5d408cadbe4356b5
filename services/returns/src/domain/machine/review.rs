//! The merchant's review and what follows a rejection: approve (or complete an
//! auto-approval that had no return address), reject, cancel, revise, appeal, the
//! appeal window running out, the platform's ruling on a dispute and its clock.

use chrono::{DateTime, Utc};

use super::{
    Change, ClockKind, Event, Outcome, Refusal, goods::after_pass, money::request_refunds,
};
use crate::domain::{
    case::{Address, Approval, DisputeOrigin, Evidence, Party, Rejection},
    kinds::State::*,
};

/// The merchant (or the review clock) approves: goods go back, or a refund-only request
/// goes to refunding. An auto-approval with no return address on the merchant's policy
/// still approves (the merchant's silence is consent) but the buyer's ship-back clock
/// waits for the address: the merchant has 24 h to give one (ApproveReturn again), and
/// the platform desk is told at once and again when that runs out.
pub(super) fn approve(
    c: Change,
    address: Option<Address>,
    carriers: Vec<String>,
    note: String,
    auto: bool,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    // only a person completes an auto-approval (a review clock no longer runs here)
    if c.from == AwaitingReturnShipment && !auto {
        return supply_address(c, address, carriers, note, now);
    }
    c.only_in(&[Requested])?;
    let mut c = c;
    let returns_goods = c.case.kind.returns_goods();
    if returns_goods && address.is_none() && !auto {
        return Err(Refusal::Invalid {
            field: "return_address",
            why: "is required unless REFUND_ONLY".into(),
        });
    }
    let pending = returns_goods && address.is_none();
    c.case.approval = Some(Approval {
        return_address: address,
        carrier_options: carriers,
        note,
        auto_approved: auto,
        at: now,
    });
    c.case.first_response.get_or_insert(now);
    let mut c = c.publish(Event::Approved { auto });
    if auto {
        c = c.notify(Party::Merchant, "return_auto_approved");
    }
    Ok(if pending {
        c.to(AwaitingReturnShipment)
            .start(ClockKind::ReturnAddress, now)
            .notify(Party::Buyer, "return_approved_address_pending")
            .notify(Party::Merchant, "return_address_required")
            .notify(Party::Platform, "return_address_required")
    } else if returns_goods {
        c.to(AwaitingReturnShipment)
            .start(ClockKind::BuyerReturnShipment, now)
            .notify(Party::Buyer, "return_approved")
    } else {
        request_refunds(c.to(Refunding), now).notify(Party::Buyer, "return_approved")
    })
}

/// The merchant (or the platform desk as an agent) gives the address an auto-approval
/// lacked: the buyer is told where to send the goods and the ship-back clock starts.
fn supply_address(
    mut c: Change,
    address: Option<Address>,
    carriers: Vec<String>,
    note: String,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    let Some(approval) = c
        .case
        .approval
        .as_mut()
        .filter(|a| a.return_address.is_none())
    else {
        return Err(c.illegal());
    };
    let Some(address) = address else {
        return Err(Refusal::Invalid {
            field: "return_address",
            why: "is required: the auto-approval is waiting for it".into(),
        });
    };
    approval.return_address = Some(address);
    if !carriers.is_empty() {
        approval.carrier_options = carriers;
    }
    if !note.is_empty() {
        approval.note = note;
    }
    Ok(c.start(ClockKind::BuyerReturnShipment, now)
        .notify(Party::Buyer, "return_address_provided"))
}

/// The merchant gave no address within its 24 h: the platform desk supplies one.
pub(super) fn address_overdue(c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingReturnShipment])?;
    let detail = "auto-approved without a return address; the merchant gave none".into();
    Ok(c.escalate("return_address_overdue", detail, now)
        .notify(Party::Merchant, "return_address_overdue"))
}

/// The merchant rejects, with a reason; the buyer's appeal window starts.
pub(super) fn reject(
    mut c: Change,
    reason: String,
    evidence: Vec<Evidence>,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[Requested])?;
    if reason.trim().is_empty() {
        return Err(Refusal::Invalid {
            field: "reason",
            why: "is required".into(),
        });
    }
    c.case.rejection = Some(Rejection {
        reason,
        evidence,
        at: now,
        appeal_deadline: None,
    });
    c.case.first_response.get_or_insert(now);
    Ok(c.to(Rejected)
        .stop()
        .start(ClockKind::RejectAppeal, now)
        .publish(Event::Rejected)
        .notify(Party::Buyer, "return_rejected"))
}

/// The buyer withdraws, until the goods arrive.
pub(super) fn cancel(mut c: Change, reason: String, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Requested, AwaitingReturnShipment, ReturnInTransit, Rejected])?;
    c.case.closed = Some(now);
    Ok(c.to(Cancelled)
        .stop()
        .publish(Event::Cancelled { reason })
        .notify(Party::Buyer, "return_cancelled")
        .notify(Party::Merchant, "return_cancelled"))
}

/// A revised request (its new values already in `c`) goes back to the merchant.
pub(super) fn revised(c: Change, now: DateTime<Utc>) -> Change {
    c.to(Requested)
        .stop()
        .start(ClockKind::MerchantReview, now)
        .publish(Event::Revised)
        .notify(Party::Buyer, "return_revised")
        .notify(Party::Merchant, "return_to_review")
}

/// The buyer appeals a rejection: a dispute opens, on the platform's ruling clock.
pub(super) fn appeal(
    mut c: Change,
    statement: String,
    evidence: Vec<Evidence>,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[Rejected])?;
    if statement.trim().is_empty() {
        return Err(Refusal::Invalid {
            field: "statement",
            why: "is required".into(),
        });
    }
    c.case.dispute_origin = Some(DisputeOrigin::Appeal);
    Ok(c.to(InDispute)
        .start(ClockKind::DisputeRuling, now)
        .publish(Event::DisputeOpened {
            origin: DisputeOrigin::Appeal,
            by: Party::Buyer,
            statement,
            evidence,
        })
        .notify(Party::Buyer, "dispute_opened")
        .notify(Party::Merchant, "return_appealed"))
}

/// Neither revised nor appealed in time: the request closes.
pub(super) fn appeal_expired(mut c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Rejected])?;
    c.case.closed = Some(now);
    Ok(c.to(Closed)
        .stop()
        .publish(Event::Closed {
            reason: "not revised or appealed after the rejection".into(),
        })
        .notify(Party::Buyer, "return_closed"))
}

/// The platform rules on the dispute: the buyer upheld proceeds as if approved (or as if
/// the inspection had passed, or the parcel been delivered); otherwise it closes.
/// `approval` is the merchant's policy address and carriers, for an overturned
/// rejection whose goods now go back.
pub(super) fn ruling(
    mut c: Change,
    complaint: String,
    outcome: Outcome,
    approval: (Option<Address>, Vec<String>),
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[InDispute])?;
    c.case.dispute = Some(complaint);
    if outcome != Outcome::BuyerUpheld {
        c.case.closed = Some(now);
        let (reason, template) = match outcome {
            Outcome::Partial => ("settled by the ruling's remedies", "ruling_partial"),
            _ => ("the ruling upheld the merchant", "ruling_merchant_upheld"),
        };
        return Ok(c
            .to(Closed)
            .stop()
            .publish(Event::Closed {
                reason: reason.into(),
            })
            .notify(Party::Buyer, template)
            .notify(Party::Merchant, template));
    }
    let c = c
        .notify(Party::Buyer, "ruling_buyer_upheld")
        .notify(Party::Merchant, "ruling_buyer_upheld");
    Ok(match c.case.dispute_origin {
        // The goods were inspected, or lost on the way with no proof either way: proceed
        // as if they had arrived and passed.
        Some(DisputeOrigin::InspectionFailed | DisputeOrigin::ParcelUntracked) => {
            after_pass(c, now)
        }
        // The rejection is overturned: proceed as if approved.
        _ if c.case.kind.returns_goods() => overturned(c, approval, now),
        _ => request_refunds(c.to(Refunding), now),
    })
}

/// An overturned rejection of goods going back: approved by the ruling, with the
/// merchant's policy address (or waiting for one, as an auto-approval would).
fn overturned(
    mut c: Change,
    (address, carriers): (Option<Address>, Vec<String>),
    now: DateTime<Utc>,
) -> Change {
    let pending = address.is_none();
    c.case.approval = Some(Approval {
        return_address: address,
        carrier_options: carriers,
        note: "approved by the platform's ruling".into(),
        auto_approved: false,
        at: now,
    });
    let c = c.to(AwaitingReturnShipment);
    if pending {
        c.start(ClockKind::ReturnAddress, now)
            .notify(Party::Merchant, "return_address_required")
            .notify(Party::Platform, "return_address_required")
    } else {
        c.start(ClockKind::BuyerReturnShipment, now)
    }
}

/// Arbitration did not rule within the platform's ruling clock: the platform desk is
/// told; the request stays in dispute for the ruling (complaints owns it).
pub(super) fn ruling_overdue(c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[InDispute])?;
    let detail = match &c.case.dispute {
        Some(d) => format!("no ruling yet on {d}"),
        None => "no ruling yet".into(),
    };
    Ok(c.escalate("dispute_ruling_overdue", detail, now))
}
