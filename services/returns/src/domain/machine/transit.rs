//! A parcel on its way (SPEC §3 refund-only "not received / lost in transit", §9 no case
//! waits forever): the carrier's reports of it, and the lost-parcel path when the
//! carrier returns it to its sender or does not deliver it by the promised time plus
//! 72 h (the transit clock). A carrier exception (a delay, a failed attempt, damage or
//! loss reported at a hub) is not final in logistics: the parcel may still arrive, so it
//! is recorded and told to both sides and the desk, and the transit clock decides;
//! taking the lost path at once would refund goods that are later delivered.
//!
//! - The buyer's parcel, once the carrier reported it (any scan, or the exception
//!   itself: the proof of shipment): the seller bears the transit risk (the platform
//!   recovers from the carrier), so the request proceeds as if the goods had arrived and
//!   passed inspection: refunded, or for an exchange the replacement is due.
//! - The buyer's parcel the carrier never reported by the deadline: nothing proves it
//!   was shipped, so a dispute opens (ParcelUntracked) and arbitration decides.
//! - The buyer's parcel returned to the buyer: the goods are back with the buyer, who
//!   ships again on a fresh ship-back clock.
//! - The replacement, whatever happened to it: the buyer did not receive it, so the
//!   request becomes refund-only "not received": the buyer is refunded the goods (and
//!   the seller-paid return shipping).

use chrono::{DateTime, Utc};

use super::{Change, ClockKind, Event, Leg, Refusal, goods::after_pass, money::request_refunds};
use crate::domain::{
    case::{DisputeOrigin, LostOutcome, ParcelCause, ParcelProblem, Party},
    kinds::State::{self, *},
};

/// The state a parcel of `leg` is in transit in.
fn in_transit(leg: Leg) -> State {
    match leg {
        Leg::Return => ReturnInTransit,
        Leg::Replacement => ReplacementInTransit,
    }
}

/// The carrier reported the parcel: the first report is the proof of shipment; a
/// promised delivery the request did not know re-dates the transit clock. Anything else
/// changes nothing (refused, so no audit row is written for every scan).
pub(super) fn seen(
    mut c: Change,
    leg: Leg,
    shipment: String,
    promised: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[in_transit(leg)])?;
    let illegal = c.illegal();
    let p = c.case.parcel_mut(leg).ok_or(illegal.clone())?;
    let first = p.carrier_seen.is_none();
    let new_promise = promised.is_some() && promised != p.promised;
    if !first && !new_promise {
        return Err(illegal);
    }
    p.carrier_seen.get_or_insert(at);
    p.shipment.get_or_insert(shipment);
    if !new_promise {
        return Ok(c);
    }
    p.promised = promised;
    let shipped = p.shipped_at;
    let kind = match leg {
        Leg::Return => ClockKind::ReturnTransit,
        Leg::Replacement => ClockKind::ReplacementTransit,
    };
    // the clock starts at the shipping time again, so its due is promise + 72 h
    Ok(c.start(kind, shipped))
}

/// The carrier reported trouble with the parcel, or returned it to its sender.
pub(super) fn lost(
    c: Change,
    leg: Leg,
    cause: ParcelCause,
    detail: String,
    at: DateTime<Utc>,
) -> Result<Change, Refusal> {
    c.only_in(&[in_transit(leg)])?;
    let mut c = c;
    let illegal = c.illegal();
    let p = c.case.parcel_mut(leg).ok_or(illegal.clone())?;
    // the carrier reporting the parcel at all proves it was shipped
    p.carrier_seen.get_or_insert(at);
    if cause != ParcelCause::Exception {
        return Ok(take_path(c, leg, cause, detail, at));
    }
    // told once per parcel: a carrier repeating its exception scan changes nothing
    if p.problem.is_some() {
        return Err(illegal);
    }
    p.problem = Some(ParcelProblem {
        cause,
        detail,
        at,
        outcome: LostOutcome::AwaitingCarrier,
    });
    let template = match leg {
        Leg::Return => "return_parcel_exception",
        Leg::Replacement => "replacement_parcel_exception",
    };
    Ok(c.notify(Party::Buyer, template)
        .notify(Party::Merchant, template)
        .notify(Party::Platform, template))
}

/// The transit clock ran out before the carrier delivered.
pub(super) fn expired(c: Change, leg: Leg, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[in_transit(leg)])?;
    let mut detail = "not delivered by the promised time plus 72 h".to_string();
    if let Some(p) = c.case.parcel(leg).and_then(|p| p.problem.as_ref()) {
        detail = format!("{detail}; the carrier reported: {}", p.detail);
    }
    Ok(take_path(c, leg, ParcelCause::TransitExpired, detail, now))
}

/// The lost-parcel path of the module's rules.
fn take_path(
    mut c: Change,
    leg: Leg,
    cause: ParcelCause,
    detail: String,
    at: DateTime<Utc>,
) -> Change {
    let proven = c.case.parcel(leg).is_some_and(|p| p.carrier_seen.is_some());
    let path = match (leg, cause) {
        (Leg::Replacement, _) => Path::RefundNotReceived,
        (Leg::Return, ParcelCause::ReturnedToSender) => Path::ShipAgain,
        (Leg::Return, _) if proven => Path::SellerBearsRisk,
        (Leg::Return, _) => Path::Dispute,
    };
    if let Some(p) = c.case.parcel_mut(leg) {
        p.problem = Some(ParcelProblem {
            cause,
            detail: detail.clone(),
            at,
            outcome: path.outcome(),
        });
    }
    let c = c.publish(Event::ParcelLost { leg });
    match path {
        Path::SellerBearsRisk => after_pass(c, at)
            .notify(Party::Buyer, "return_parcel_lost")
            .notify(Party::Merchant, "return_parcel_lost"),
        Path::ShipAgain => c
            .to(AwaitingReturnShipment)
            .start(ClockKind::BuyerReturnShipment, at)
            .notify(Party::Buyer, "return_parcel_returned")
            .notify(Party::Merchant, "return_parcel_returned"),
        Path::Dispute => {
            let mut c = c.to(InDispute).start(ClockKind::DisputeRuling, at);
            c.case.dispute_origin = Some(DisputeOrigin::ParcelUntracked);
            c.publish(Event::DisputeOpened {
                origin: DisputeOrigin::ParcelUntracked,
                by: Party::Platform,
                statement: format!("return parcel never reported by the carrier: {detail}"),
                evidence: Vec::new(),
            })
            .notify(Party::Buyer, "return_parcel_untracked")
            .notify(Party::Merchant, "return_parcel_untracked")
        }
        Path::RefundNotReceived => request_refunds(c.to(Refunding), at)
            .notify(Party::Buyer, "replacement_lost")
            .notify(Party::Merchant, "replacement_lost"),
    }
}

/// The final outcomes of a lost parcel (an exception's `AwaitingCarrier` is none).
#[derive(Clone, Copy)]
enum Path {
    SellerBearsRisk,
    RefundNotReceived,
    ShipAgain,
    Dispute,
}

impl Path {
    fn outcome(self) -> LostOutcome {
        match self {
            Self::SellerBearsRisk => LostOutcome::SellerBearsRisk,
            Self::RefundNotReceived => LostOutcome::RefundNotReceived,
            Self::ShipAgain => LostOutcome::ShipAgain,
            Self::Dispute => LostOutcome::Dispute,
        }
    }
}
