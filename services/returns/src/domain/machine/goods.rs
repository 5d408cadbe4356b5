//! The goods: the buyer's parcel back, its delivery and inspection, the replacement's
//! parcel out and its confirmation, and the buyer who does not ship back in time. Each
//! parcel travels on a transit clock (see `transit` for what its expiry does).

use chrono::{DateTime, Utc};

use super::{
    Change, ClockKind, Effect, Event, Leg, Refusal,
    money::{charge_lateness, request_refunds, request_shipping_refund},
};
use crate::domain::{
    case::{DisputeOrigin, Evidence, Inspection, Parcel, Party},
    kinds::{Kind, State, State::*},
    platform_policy::PackagingDamage,
    policy::Payer,
    shipping::{self, Outlay},
};

/// A parcel as the shipper reports it: carrier, tracking number, promised delivery.
type Waybill = (String, String, Option<DateTime<Utc>>);

/// The buyer hands the goods to a carrier (one of the merchant's, if it named any).
pub(super) fn submit_shipment(
    mut c: Change,
    (carrier, tracking, promised): Waybill,
    outlay: Outlay,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingReturnShipment])?;
    if c.case
        .approval
        .as_ref()
        .is_some_and(|a| a.return_address.is_none())
    {
        return Err(Refusal::Precondition {
            reason: "RETURN_ADDRESS_PENDING",
            why: "the merchant has not given the return address yet".into(),
        });
    }
    let options = c
        .case
        .approval
        .as_ref()
        .map(|a| a.carrier_options.clone())
        .unwrap_or_default();
    if !options.is_empty() && !options.iter().any(|o| o.eq_ignore_ascii_case(&carrier)) {
        return Err(Refusal::Invalid {
            field: "carrier_code",
            why: format!("must be one of {}", options.join(", ")),
        });
    }
    if outlay.cost_minor.is_some_and(|c| c > 0)
        && outlay.receipt.is_none()
        && c.case.shipping.payer != Payer::Buyer
    {
        return Err(Refusal::Invalid {
            field: "shipping_receipt",
            why: "the carrier's receipt is the evidence of a reimbursed cost".into(),
        });
    }
    // a parcel shipped again (the carrier brought the first back) is reimbursed once,
    // at the last declared cost
    shipping::reimburse(&mut c.case.shipping, outlay);
    c.case.return_parcel = Some(parcel((carrier, tracking, promised), now));
    Ok(c.to(ReturnInTransit)
        .start(ClockKind::ReturnTransit, now)
        .emit(Effect::RegisterShipment { leg: Leg::Return })
        .publish(Event::Shipped)
        .notify(Party::Buyer, "return_shipment_registered")
        .notify(Party::Merchant, "return_shipped"))
}

fn parcel((carrier, tracking, promised): Waybill, now: DateTime<Utc>) -> Parcel {
    Parcel {
        carrier_code: carrier,
        tracking_number: tracking,
        shipment: None,
        shipped_at: now,
        delivered_at: None,
        promised,
        carrier_seen: None,
        problem: None,
    }
}

/// The carrier delivered the goods back: the merchant's inspection clock starts.
pub(super) fn return_delivered(
    mut c: Change,
    at: DateTime<Utc>,
    shipment: String,
) -> Result<Change, Refusal> {
    // A duplicate or a late delivery report finds the request already moved on.
    c.only_in(&[ReturnInTransit])?;
    delivered_after_shipping(c.case.return_parcel.as_ref(), at)?;
    if let Some(p) = c.case.return_parcel.as_mut() {
        p.delivered_at = Some(at);
        p.shipment = Some(shipment);
    }
    Ok(c.to(Inspecting)
        .start(ClockKind::MerchantInspection, at)
        .notify(Party::Merchant, "return_to_inspect")
        .notify(Party::Buyer, "return_delivered"))
}

/// The merchant inspects: a pass goes on to refund or replacement, a failure (with a
/// note and evidence) opens a dispute. The merchant, who has the parcel in hand, may
/// correct the buyer's statement of the packaging's damage (and so its fee).
pub(super) fn inspect(
    mut c: Change,
    (passed, note, evidence, auto): (bool, String, Vec<Evidence>, bool),
    packaging: Option<(PackagingDamage, i64)>,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[Inspecting])?;
    if let Some((damage, fee)) = packaging {
        shipping::restate_packaging(&mut c.case.shipping, damage, fee);
    }
    if !passed && (note.trim().is_empty() || evidence.is_empty()) {
        return Err(Refusal::Invalid {
            field: "evidence",
            why: "a failed inspection needs a note and evidence".into(),
        });
    }
    c.case.inspection = Some(Inspection {
        passed,
        note: note.clone(),
        evidence: evidence.clone(),
        auto_passed: auto,
        at: now,
    });
    let mut c = c.publish(Event::Inspected { passed, auto });
    if passed {
        if auto {
            c = c.notify(Party::Merchant, "inspection_auto_passed");
        }
        return Ok(after_pass(c, now).notify(Party::Buyer, "inspection_passed"));
    }
    let mut c = c.to(InDispute).start(ClockKind::DisputeRuling, now);
    c.case.dispute_origin = Some(DisputeOrigin::InspectionFailed);
    Ok(c.publish(Event::DisputeOpened {
        origin: DisputeOrigin::InspectionFailed,
        by: Party::Merchant,
        statement: note,
        evidence,
    })
    .notify(Party::Buyer, "inspection_failed"))
}

/// The merchant ships the replacement (late, if the clock had run out).
pub(super) fn ship_replacement(
    mut c: Change,
    waybill: Waybill,
    now: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingReplacement])?;
    c.case.replacement_parcel = Some(parcel(waybill, now));
    let c = charge_lateness(c, now);
    Ok(c.to(ReplacementInTransit)
        .start(ClockKind::ReplacementTransit, now)
        .emit(Effect::RegisterShipment {
            leg: Leg::Replacement,
        })
        .publish(Event::ReplacementShipped)
        .notify(Party::Buyer, "replacement_shipped"))
}

/// The replacement arrived: the buyer's confirmation clock starts.
pub(super) fn replacement_delivered(
    mut c: Change,
    at: DateTime<Utc>,
    shipment: String,
) -> Result<Change, Refusal> {
    c.only_in(&[ReplacementInTransit])?;
    delivered_after_shipping(c.case.replacement_parcel.as_ref(), at)?;
    if let Some(p) = c.case.replacement_parcel.as_mut() {
        p.delivered_at = Some(at);
        p.shipment = Some(shipment);
    }
    Ok(c.to(AwaitingBuyerConfirmation)
        .start(ClockKind::ReplacementConfirmation, at)
        .notify(Party::Buyer, "replacement_delivered"))
}

/// The buyer (or the clock) confirms the replacement.
pub(super) fn confirm(mut c: Change, auto: bool, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingBuyerConfirmation, ReplacementInTransit])?;
    c.case.closed = Some(now);
    let to_buyer = if auto {
        "replacement_auto_confirmed"
    } else {
        "return_completed"
    };
    Ok(c.to(Completed)
        .stop()
        .publish(Event::Completed { auto })
        .notify(Party::Buyer, to_buyer)
        .notify(Party::Merchant, "return_completed"))
}

/// The buyer did not ship back in time: the request closes as forfeited.
pub(super) fn ship_back_expired(mut c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingReturnShipment])?;
    c.case.closed = Some(now);
    Ok(c.to(ClosedForfeited)
        .stop()
        .publish(Event::Closed {
            reason: "the goods were not shipped back in time".into(),
        })
        .notify(Party::Buyer, "return_forfeited")
        .notify(Party::Merchant, "return_forfeited"))
}

/// Refuses a delivery dated before the parcel was handed over (with a day's tolerance
/// for the shipper's clock): a tracking number reused from an old parcel would otherwise
/// count as delivered at once and start the inspection clock already expired.
fn delivered_after_shipping(parcel: Option<&Parcel>, at: DateTime<Utc>) -> Result<(), Refusal> {
    match parcel {
        Some(p) if at < p.shipped_at - chrono::Duration::days(1) => Err(Refusal::Invalid {
            field: "delivered_time",
            why: "the carrier reports a delivery from before this parcel was shipped".into(),
        }),
        _ => Ok(()),
    }
}

/// Inspection passed (or a ruling said so): refund or replacement, on the 7-day clock.
pub(super) fn after_pass(c: Change, now: DateTime<Utc>) -> Change {
    match c.case.kind {
        // a quality exchange reimburses the return shipping the seller pays too
        Kind::Exchange => request_shipping_refund(c)
            .to(State::AwaitingReplacement)
            .stop()
            .start(ClockKind::RefundOrReplacement, now)
            .notify(Party::Merchant, "ship_replacement"),
        _ => request_refunds(c.to(State::Refunding).stop(), now),
    }
}
