//! The spare unit a merchant's policy promises (seed 001 §4): shipped to the buyer while
//! the repair runs, on a logistics leg of its own, and given back once the repaired item
//! is accepted. Neither parcel moves the repair: they are recorded, and the parties told.

use chrono::{DateTime, Utc};

use super::{Change, Effect, Leg, Refusal};
use crate::domain::{
    kinds::{Party, State::*},
    repair::Parcel,
};

fn parcel(carrier: String, tracking: String, now: DateTime<Utc>) -> Option<Parcel> {
    Some(Parcel {
        carrier,
        tracking,
        shipped: now,
        delivered: None,
        booked: false,
    })
}

/// The merchant sends the spare unit, once, while the repair runs.
pub(super) fn ship(c: Change, carrier: String, tracking: String) -> Result<Change, Refusal> {
    c.only_in(&[Accepted, Diagnosed, Quoted, Repairing, ReadyToShip, Shipped])?;
    if !c.r.spare_unit {
        return Err(Refusal::Precondition {
            reason: "NO_SPARE_UNIT",
            why: "no spare unit was promised for this repair".into(),
        });
    }
    if c.r.spare.is_some() {
        return Err(Refusal::Precondition {
            reason: "SPARE_ALREADY_SHIPPED",
            why: "the spare unit was shipped already".into(),
        });
    }
    let mut c = c;
    c.r.spare = parcel(carrier, tracking, c.now);
    Ok(c.emit(Effect::RegisterShipment { leg: Leg::SpareOut })
        .notify(Party::Buyer, "repair_spare_shipped"))
}

/// The buyer gives the spare unit back, once the repaired item is theirs again (or the
/// repair was withdrawn with the spare already lent).
pub(super) fn give_back(c: Change, carrier: String, tracking: String) -> Result<Change, Refusal> {
    c.only_in(&[AwaitingAcceptance, Completed, Cancelled])?;
    if c.r.spare.as_ref().is_none_or(|p| p.delivered.is_none()) {
        return Err(Refusal::Precondition {
            reason: "NO_SPARE_UNIT",
            why: "no spare unit reached the buyer".into(),
        });
    }
    if c.r.spare_return.is_some() {
        return Err(Refusal::Precondition {
            reason: "SPARE_ALREADY_RETURNED",
            why: "the spare unit is on its way back already".into(),
        });
    }
    let mut c = c;
    c.r.spare_return = parcel(carrier, tracking, c.now);
    Ok(c.emit(Effect::RegisterShipment {
        leg: Leg::SpareBack,
    })
    .notify(Party::Merchant, "repair_spare_returning"))
}

/// The buyer is told to give the lent spare back once the repair is over: at its close,
/// or at the spare's delivery if that comes later.
pub(super) fn return_due(c: Change) -> Change {
    let out = c.r.spare.as_ref().is_some_and(|p| p.delivered.is_some());
    if out && c.r.spare_return.is_none() && c.r.state.is_final() {
        return c.notify(Party::Buyer, "repair_spare_return_due");
    }
    c
}

/// Logistics delivered a spare unit's parcel (after the repair's end too).
pub(super) fn delivered(c: Change, leg: Leg, at: DateTime<Utc>) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let mut c = c;
    let (p, to, template) = match leg {
        Leg::SpareOut => (c.r.spare.as_mut(), Party::Buyer, "repair_spare_delivered"),
        Leg::SpareBack => (
            c.r.spare_return.as_mut(),
            Party::Merchant,
            "repair_spare_returned",
        ),
        _ => return Err(illegal),
    };
    let Some(p) = p.filter(|p| p.delivered.is_none()) else {
        return Err(illegal);
    };
    p.delivered = Some(at);
    Ok(return_due(c.notify(to, template)))
}
