//! A reship remedy, tracked through logistics (SPEC §6: execution is tracked to the
//! end): the merchant (or the owner) records the parcel sent, the service registers it
//! with logistics as the case's replacement leg, and the carrier's delivery does the
//! remedy. A carrier's exception is told to the owner and the desk (the parcel may still
//! arrive; the owner may record the remedy FAILED); a parcel sent back fails it, the
//! merchant is asked again, and a new parcel may be recorded. One parcel may carry
//! several reship remedies: its scans move all of them.

use chrono::{DateTime, Utc};

use super::{Change, Effect, Refusal, money::resolved};
use crate::domain::{
    kinds::{Execution, Party, RemedyKind, State::*},
    ticket::Remedy,
};

/// The reference a reship's parcel is recorded under (the carrier code is
/// case-insensitive, as logistics has it).
pub fn parcel_reference(carrier: &str, tracking: &str) -> String {
    format!("{}/{}", carrier.to_ascii_lowercase(), tracking)
}

/// The reships whose parcel is `carrier`/`tracking`, in one of `states`.
fn reships_of<'t>(
    remedies: &'t mut [Remedy],
    (carrier, tracking): (&str, &str),
    states: &'t [Execution],
) -> impl Iterator<Item = &'t mut Remedy> {
    let reference = parcel_reference(carrier, tracking);
    remedies.iter_mut().filter(move |r| {
        r.kind == RemedyKind::Reship && states.contains(&r.execution) && r.reference == reference
    })
}

/// The parcel of reship `remedy` was sent (carrier, tracking number).
pub(super) fn shipped(
    mut c: Change,
    remedy: String,
    carrier: String,
    tracking: String,
) -> Result<Change, Refusal> {
    c.only_in(&[Executing])?;
    let Some(r) = c.t.remedies.iter_mut().find(|r| r.id == remedy) else {
        return Err(Refusal::Invalid {
            field: "remedy_id",
            why: "no such remedy on this complaint".into(),
        });
    };
    if r.kind != RemedyKind::Reship {
        return Err(Refusal::Invalid {
            field: "tracking_number",
            why: "only a reship remedy is sent as a parcel".into(),
        });
    }
    match r.execution {
        Execution::Pending | Execution::Failed => {}
        Execution::InProgress => {
            return Err(Refusal::Precondition {
                reason: "PARCEL_ON_ITS_WAY",
                why: format!(
                    "the parcel {} is on its way (record the remedy FAILED to send another)",
                    r.reference
                ),
            });
        }
        Execution::Done => {
            return Err(Refusal::Precondition {
                reason: "REMEDY_DONE",
                why: "the reship was delivered".into(),
            });
        }
    }
    r.execution = Execution::InProgress;
    r.reference = parcel_reference(&carrier, &tracking);
    Ok(c.emit(Effect::RegisterShipment { remedy })
        .notify(Party::Buyer, "reship_shipped")
        .notify(Party::Owner, "reship_shipped"))
}

/// How far a carrier's clock may be behind ours.
const CARRIER_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// Logistics reports the parcel delivered: its reships are done. Also when it turns up
/// after being given up (FAILED) as long as no other parcel replaced it; never for a
/// delivery dated before the reship was ordered (give or take the carrier's clock): that
/// was another trip of the tracking number (e.g. the buyer's own return parcel).
pub(super) fn delivered(
    mut c: Change,
    parcel: (String, String),
    at: Option<DateTime<Utc>>,
) -> Result<Change, Refusal> {
    let (illegal, now) = (c.illegal(), c.now);
    let states = [Execution::InProgress, Execution::Failed];
    let mut found = false;
    for r in reships_of(&mut c.t.remedies, (&parcel.0, &parcel.1), &states) {
        if let (Some(at), Some(ordered)) = (at, r.ordered)
            && at + CARRIER_SKEW < ordered
        {
            continue;
        }
        r.execution = Execution::Done;
        r.done = Some(now);
        found = true;
    }
    if !found {
        return Err(illegal);
    }
    if c.t.state == Executing && c.t.remedies.iter().all(|r| r.execution == Execution::Done) {
        return Ok(resolved(c));
    }
    Ok(c)
}

/// The carrier reports a problem with the parcel: the owner and the desk are told (it may
/// still arrive; the owner decides whether to give it up).
pub(super) fn exception(mut c: Change, parcel: (String, String)) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let states = [Execution::InProgress];
    if reships_of(&mut c.t.remedies, (&parcel.0, &parcel.1), &states)
        .next()
        .is_none()
    {
        return Err(illegal);
    }
    Ok(c.notify(Party::Owner, "reship_exception")
        .notify(Party::Desk, "reship_exception"))
}

/// The parcel was sent back: its reships failed, the merchant is asked again.
pub(super) fn returned(mut c: Change, parcel: (String, String)) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let states = [Execution::InProgress];
    let mut found = false;
    for r in reships_of(&mut c.t.remedies, (&parcel.0, &parcel.1), &states) {
        r.execution = Execution::Failed;
        found = true;
    }
    if !found {
        return Err(illegal);
    }
    Ok(c.notify(Party::Owner, "remedy_failed")
        .notify(Party::Desk, "remedy_failed")
        .notify(Party::Merchant, "reship_requested"))
}
