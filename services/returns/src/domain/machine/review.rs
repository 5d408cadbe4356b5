//! The merchant's review and what follows a rejection: approve, reject, cancel, revise,
//! appeal, the appeal window running out, and the platform's ruling on a dispute.

use chrono::{DateTime, Utc};

use super::{
    Change, ClockKind, Event, Outcome, Refusal, goods::after_pass, money::request_refunds,
};
use crate::domain::{
    case::{Address, Approval, DisputeOrigin, Evidence, Party, Rejection},
    kinds::State::*,
};

/// The merchant (or the review clock) approves: goods go back, or a refund-only request
/// goes to refunding.
pub(super) fn approve(
    c: Change,
    address: Option<Address>,
    carriers: Vec<String>,
    note: String,
    auto: bool,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[Requested])?;
    let mut c = c;
    let returns_goods = c.case.kind.returns_goods();
    if returns_goods && address.is_none() && !auto {
        return Err(Refusal::Invalid {
            field: "return_address",
            why: "is required unless REFUND_ONLY".into(),
        });
    }
    c.case.approval = Some(Approval {
        return_address: address,
        carrier_options: carriers,
        note,
        auto_approved: auto,
        at: now,
    });
    c.case.first_response.get_or_insert(now);
    let c = c
        .publish(Event::Approved { auto })
        .notify(Party::Buyer, "return_approved");
    Ok(if returns_goods {
        c.to(AwaitingReturnShipment)
            .stop()
            .start(ClockKind::BuyerReturnShipment, now)
    } else {
        request_refunds(c.to(Refunding).stop(), now)
    })
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
        .notify(Party::Merchant, "return_cancelled"))
}

/// A revised request (its new values already in `c`) goes back to the merchant.
pub(super) fn revised(c: Change, now: DateTime<Utc>) -> Change {
    c.to(Requested)
        .stop()
        .start(ClockKind::MerchantReview, now)
        .publish(Event::Revised)
        .notify(Party::Merchant, "return_to_review")
}

/// The buyer appeals a rejection: a dispute opens.
pub(super) fn appeal(
    mut c: Change,
    statement: String,
    evidence: Vec<Evidence>,
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
        .stop()
        .publish(Event::DisputeOpened {
            origin: DisputeOrigin::Appeal,
            by: Party::Buyer,
            statement,
            evidence,
        })
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
/// the inspection had passed); otherwise the request closes.
pub(super) fn ruling(
    mut c: Change,
    complaint: String,
    outcome: Outcome,
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
            .publish(Event::Closed {
                reason: reason.into(),
            })
            .notify(Party::Buyer, template));
    }
    let c = c
        .notify(Party::Buyer, "ruling_buyer_upheld")
        .notify(Party::Merchant, "ruling_buyer_upheld");
    Ok(match c.case.dispute_origin {
        // The goods were already inspected: proceed as if it had passed.
        Some(DisputeOrigin::InspectionFailed) => after_pass(c, now),
        // The rejection is overturned: proceed as if approved.
        _ if c.case.kind.returns_goods() => c
            .to(AwaitingReturnShipment)
            .start(ClockKind::BuyerReturnShipment, now),
        _ => request_refunds(c.to(Refunding), now),
    })
}
