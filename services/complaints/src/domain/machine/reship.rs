//! A reship remedy, tracked through logistics (SPEC §6: execution is tracked to the
//! end): the merchant (or the owner) records the parcel sent, the service registers it
//! with logistics as the case's replacement leg, and the carrier's delivery does the
//! remedy. A parcel lost, damaged or sent back fails the remedy: the owner and the desk
//! see it, the merchant is asked again, and a new parcel may be recorded.

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

/// The reship whose parcel is `carrier`/`tracking`, in one of `states`.
fn reship_for<'t>(
    remedies: &'t mut [Remedy],
    (carrier, tracking): (&str, &str),
    states: &[Execution],
) -> Option<&'t mut Remedy> {
    let reference = parcel_reference(carrier, tracking);
    remedies.iter_mut().find(|r| {
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
                why: format!("the parcel {} is on its way", r.reference),
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

/// Logistics reports the parcel delivered: the reship is done (also when the parcel
/// turns up after an exception, as long as no other parcel replaced it).
pub(super) fn delivered(
    mut c: Change,
    carrier: String,
    tracking: String,
) -> Result<Change, Refusal> {
    let (illegal, now) = (c.illegal(), c.now);
    let states = [Execution::InProgress, Execution::Failed];
    let r = reship_for(&mut c.t.remedies, (&carrier, &tracking), &states).ok_or(illegal)?;
    r.execution = Execution::Done;
    r.done = Some(now);
    if c.t.state == Executing && c.t.remedies.iter().all(|r| r.execution == Execution::Done) {
        return Ok(resolved(c));
    }
    Ok(c)
}

/// Logistics reports the parcel lost, damaged or sent back: the reship failed.
pub(super) fn lost(mut c: Change, carrier: String, tracking: String) -> Result<Change, Refusal> {
    let illegal = c.illegal();
    let states = [Execution::InProgress];
    let r = reship_for(&mut c.t.remedies, (&carrier, &tracking), &states).ok_or(illegal)?;
    r.execution = Execution::Failed;
    Ok(c.notify(Party::Owner, "remedy_failed")
        .notify(Party::Desk, "remedy_failed")
        .notify(Party::Merchant, "reship_requested"))
}
