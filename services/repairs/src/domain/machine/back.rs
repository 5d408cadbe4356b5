//! The way back: the repaired (or unrepaired) item shipped to the buyer, delivered, and
//! accepted by the buyer (or by the acceptance clock), or reopened for a re-repair
//! within the acceptance window.

use chrono::{DateTime, Utc};

use super::{Change, Effect, Event, Leg, Refusal, spare};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Party, State::*},
    repair::Parcel,
};

pub(super) fn ship(c: Change, carrier: String, tracking: String) -> Result<Change, Refusal> {
    c.only_in(&[ReadyToShip])?;
    let mut c = c.stop(ClockKind::MerchantStep);
    c.r.outbound = Some(Parcel {
        carrier,
        tracking,
        shipped: c.now,
        delivered: None,
        booked: false,
    });
    Ok(c.to(Shipped)
        .start(ClockKind::Transit)
        .emit(Effect::RegisterShipment { leg: Leg::Outbound })
        .notify(Party::Buyer, "repair_shipped"))
}

pub(super) fn delivered(c: Change, at: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Shipped])?;
    let illegal = c.illegal();
    let mut c = c;
    let Some(p) = c.r.outbound.as_mut().filter(|p| p.delivered.is_none()) else {
        return Err(illegal);
    };
    p.delivered = Some(at);
    Ok(c.stop(ClockKind::Transit)
        .to(AwaitingAcceptance)
        .start(ClockKind::BuyerAcceptance)
        .notify(Party::Buyer, "repair_delivered"))
}

/// Accepted by the buyer, or by the clock (`auto`): the repair is complete.
pub(super) fn accept(c: Change, auto: bool) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingAcceptance])?;
    // a declined quote's fee still being asked keeps its clock past the end
    let kinds: Vec<ClockKind> = c.r.clocks.iter().map(|k| k.kind).collect();
    let mut c = c;
    for kind in kinds {
        if kind != ClockKind::Charge || c.r.open_fee().is_none() {
            c = c.stop(kind);
        }
    }
    c.r.auto_accepted = auto;
    let c = c
        .to(Completed)
        .publish(Event::Completed)
        .notify(Party::Merchant, "repair_accepted_by_buyer")
        .notify(Party::Buyer, "repair_closed");
    Ok(spare::return_due(c))
}

/// The buyer is not satisfied, within the acceptance window: a free re-repair, the item
/// goes back in and every clock starts again.
pub(super) fn reopen(c: Change, reason: String) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingAcceptance])?;
    if !c.r.repaired {
        return Err(Refusal::Precondition {
            reason: "NOT_REPAIRED",
            why: "the item went back unrepaired (the quote was declined): file a new repair".into(),
        });
    }
    if reason.trim().is_empty() {
        return Err(Refusal::Invalid {
            field: "reason",
            why: "a reopen says what is still wrong".into(),
        });
    }
    let mut c = c.stop_all();
    c.r.round += 1;
    c.r.repaired = false;
    c.r.item_awaited = 0;
    c.r.inbound = None;
    c.r.outbound = None;
    c.r.diagnosis = None;
    c.r.quote = None;
    c.r.extension = None;
    c.r.repair_due = None;
    c.r.overdue_since = None;
    c.r.quality_check_note = String::new();
    Ok(c.to(Accepted)
        .start(ClockKind::ItemInbound)
        .notify(Party::Merchant, "repair_reopened")
        .notify(Party::Buyer, "repair_reopened"))
}
