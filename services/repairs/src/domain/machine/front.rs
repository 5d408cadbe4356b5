//! The front of a repair: the merchant's first response and formal answer (SPEC §5: 24 h
//! and 2 working days), and the item on its way to the repairer.

use chrono::{DateTime, Utc};

use super::{Change, Effect, Leg, Refusal};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Party, State::*},
    repair::{Address, Parcel},
};

fn first_response(mut c: Change) -> Change {
    if c.r.first_response.is_none() {
        c.r.first_response = Some(c.now);
    }
    c.stop(ClockKind::FirstResponse)
}

pub(super) fn acknowledge(c: Change) -> Result<Change, Refusal> {
    c.only_in(&[Requested])?;
    Ok(first_response(c)
        .to(Acknowledged)
        .notify(Party::Buyer, "repair_acknowledged"))
}

/// Accepted: the item comes in (the buyer ships it or a pickup is booked).
pub(super) fn accept(c: Change, spare_unit: bool, address: Address) -> Result<Change, Refusal> {
    c.only_in(&[Requested, Acknowledged])?;
    let mut c = first_response(c).stop(ClockKind::FormalAnswer);
    c.r.repair_address = Some(address);
    // a spare the policy promises is not the merchant's to withhold
    c.r.spare_unit |= spare_unit;
    Ok(c.to(Accepted)
        .start(ClockKind::ItemInbound)
        .notify(Party::Buyer, "repair_accepted"))
}

/// Declined with a reason: the buyer is told why and what they can do (a complaint).
pub(super) fn decline(c: Change, reason: String) -> Result<Change, Refusal> {
    c.only_in(&[Requested, Acknowledged])?;
    if reason.trim().is_empty() {
        return Err(Refusal::Invalid {
            field: "reason",
            why: "a decline says why".into(),
        });
    }
    let mut c = first_response(c).stop_all();
    c.r.decline_reason = reason;
    Ok(c.to(Declined).notify(Party::Buyer, "repair_declined"))
}

/// The item's parcel (once; a parcel sent back is replaced by the next one). A booked
/// pickup is registered with logistics already.
pub(super) fn item_shipped(
    c: Change,
    carrier: String,
    tracking: String,
    booked: bool,
) -> Result<Change, Refusal> {
    c.only_in(&[Accepted])?;
    if c.r.inbound.as_ref().is_some_and(|p| p.delivered.is_some()) {
        return Err(Refusal::Precondition {
            reason: "ITEM_RECEIVED",
            why: "the repairer has the item".into(),
        });
    }
    // one courier per round: a booked pickup is neither booked again nor replaced
    if c.r.inbound.as_ref().is_some_and(|p| p.booked) {
        return Err(Refusal::Precondition {
            reason: "PICKUP_ALREADY_BOOKED",
            why: "a courier is booked to collect the item; the desk rebooks a missed one".into(),
        });
    }
    let mut c = c;
    c.r.inbound = Some(Parcel {
        carrier,
        tracking,
        shipped: c.now,
        delivered: None,
        booked,
    });
    if !booked {
        c = c.emit(Effect::RegisterShipment { leg: Leg::Inbound });
    }
    Ok(c.notify(Party::Merchant, "repair_item_shipped"))
}

/// Withdrawn by the buyer before the item is on its way (a parcel in transit would be
/// lost to the case).
pub(super) fn cancel(c: Change, reason: String) -> Result<Change, Refusal> {
    c.only_in(&[Requested, Acknowledged, Accepted])?;
    if c.r.inbound.is_some() {
        return Err(Refusal::Precondition {
            reason: "ITEM_ON_ITS_WAY",
            why: "the item is on its way to the repairer: the repair goes on".into(),
        });
    }
    Ok(close_unrepaired(c, reason))
}

/// Closed without the item: every clock stopped, the merchant told (and a lent spare
/// unit asked back).
pub(super) fn close_unrepaired(c: Change, reason: String) -> Change {
    let mut c = c.stop_all();
    c.r.cancel_reason = reason;
    let c = c
        .to(Cancelled)
        .notify(Party::Merchant, "repair_cancelled")
        .notify(Party::Buyer, "repair_cancelled");
    super::spare::return_due(c)
}

/// The item reached the repairer: the merchant owes the diagnosis.
pub(super) fn item_delivered(c: Change, at: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Accepted])?;
    let illegal = c.illegal();
    let mut c = c;
    let Some(p) = c.r.inbound.as_mut().filter(|p| p.delivered.is_none()) else {
        return Err(illegal);
    };
    p.delivered = Some(at);
    Ok(c.stop(ClockKind::ItemInbound)
        .start(ClockKind::MerchantStep)
        .notify(Party::Merchant, "repair_item_received")
        .notify(Party::Buyer, "repair_item_received"))
}
