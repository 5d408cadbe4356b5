//! The repair itself: the diagnosis (the warranty's decision on what is free), the quote
//! of a paid repair and the buyer's answer, its charge, then the work on the 7
//! working-day clock with its one extension, the progress shown to the buyer, and the
//! quality check that completes it (the late penalty asked for then, once).

use chrono::{DateTime, Utc};

use super::{Change, Effect, Event, Refusal};
use crate::domain::{
    clocks::ClockKind,
    extension::{self, late_penalty},
    kinds::{Party, State::*},
    quote::{self, Labour, Part, QuoteError},
    repair::{Diagnosis, Fee, Progress, Quote},
    warranty::NotFree,
};

/// Work starts: the repair_due clock (7 working days).
fn start_work(c: Change) -> Change {
    let mut c = c.to(Repairing).start(ClockKind::RepairDue);
    c.r.repair_due = c.r.clock(ClockKind::RepairDue).map(|k| k.due);
    c.notify(Party::Buyer, "repair_started")
}

/// The fault confirmed on the item: free work starts at once, a paid one waits for its
/// quote. The merchant may find the buyer caused it (no longer free), never the
/// warranty itself: that is the platform's facts'.
pub(super) fn diagnose(
    c: Change,
    fault: String,
    buyer_caused: bool,
    evidence: Vec<String>,
) -> Result<Change, Refusal> {
    c.only_in(&[Accepted])?;
    if c.r.inbound.as_ref().is_none_or(|p| p.delivered.is_none()) {
        return Err(Refusal::Precondition {
            reason: "ITEM_NOT_RECEIVED",
            why: "the item has not reached the repairer".into(),
        });
    }
    let mut c = c.stop(ClockKind::MerchantStep);
    if buyer_caused && c.r.not_free.is_none() {
        c.r.not_free = Some(NotFree::BuyerCaused);
    }
    c.r.diagnosis = Some(Diagnosis {
        fault,
        within_warranty: c.r.within_warranty,
        buyer_caused,
        evidence,
        at: c.now,
    });
    if c.r.free() {
        return Ok(start_work(c));
    }
    Ok(c.to(Diagnosed)
        .start(ClockKind::MerchantStep)
        .notify(Party::Buyer, "repair_diagnosed"))
}

pub(super) fn quote(
    c: Change,
    parts: Vec<Part>,
    labour: Vec<Labour>,
    note: String,
) -> Result<Change, Refusal> {
    c.only_in(&[Diagnosed])?;
    let priced = quote::price(parts, labour, false).map_err(|e| match e {
        QuoteError::Empty => Refusal::Invalid {
            field: "parts",
            why: "a quote has parts or labour".into(),
        },
        QuoteError::Part(i, why) => Refusal::Invalid {
            field: "parts",
            why: format!("part {i}: {why}"),
        },
        QuoteError::Labour(i, why) => Refusal::Invalid {
            field: "labour",
            why: format!("labour {i}: {why}"),
        },
        QuoteError::RateMismatch(g) => Refusal::Invalid {
            field: "labour",
            why: format!("one hourly rate per grade ({g:?} has two)"),
        },
        QuoteError::Overflow => Refusal::Invalid {
            field: "parts",
            why: "the quote's total is out of range".into(),
        },
    })?;
    let mut c = c.stop(ClockKind::MerchantStep);
    c.r.quote = Some(Quote {
        priced,
        note,
        at: c.now,
        accepted: None,
        decline_reason: String::new(),
        decided: None,
        charge_id: None,
        charged: None,
        attempts: 0,
        charge_failure: String::new(),
    });
    Ok(c.to(Quoted)
        .start(ClockKind::QuoteDecision)
        .publish(Event::Quoted)
        .notify(Party::Buyer, "repair_quoted"))
}

/// The buyer's answer: accepted, the quote is charged (work starts once it succeeded);
/// declined, the item goes back unrepaired.
pub(super) fn decide(c: Change, accept: bool, reason: String) -> Result<Change, Refusal> {
    c.only_in(&[Quoted])?;
    let illegal = c.illegal();
    let mut c = c;
    let (now, id, round) = (c.now, c.r.id, c.r.round);
    let Some(q) = c.r.quote.as_mut().filter(|q| q.accepted.is_none()) else {
        return Err(illegal);
    };
    q.accepted = Some(accept);
    q.decided = Some(now);
    if !accept {
        q.decline_reason = reason;
        let c = c
            .stop(ClockKind::QuoteDecision)
            .to(ReadyToShip)
            .start(ClockKind::MerchantStep)
            .notify(Party::Merchant, "repair_quote_declined");
        return Ok(owe_fee(c));
    }
    // nothing to pay (a quote priced at zero): work starts at once
    if q.priced.payable == 0 {
        q.charged = Some(now);
        let c = c.stop(ClockKind::QuoteDecision);
        return Ok(start_work(c).notify(Party::Merchant, "repair_quote_accepted"));
    }
    // stable per attempt: a redelivered charge is the same charge, a new acceptance
    // after a refusal a new one
    q.attempts += 1;
    let charge_id = format!("rp-{}-{round}-{}", id.simple(), q.attempts);
    q.charge_id = Some(charge_id.clone());
    let minor = q.priced.payable;
    Ok(c.stop(ClockKind::QuoteDecision)
        .start(ClockKind::Charge)
        .emit(Effect::Charge { charge_id, minor })
        .notify(Party::Merchant, "repair_quote_accepted"))
}

/// A declined (or lapsed) quote owes the policy's inspection fee, charged once under its
/// own id on the charge clock; the item goes back meanwhile.
/// Never more than the quote itself would have cost: declining is never dearer than
/// accepting, and a quote priced at zero owes nothing.
pub(super) fn owe_fee(c: Change) -> Change {
    let payable = c.r.quote.as_ref().map_or(0, |q| q.priced.payable);
    let minor = c.r.inspection_fee_minor.min(payable);
    if minor <= 0 || c.r.free() || c.r.decline_fee.is_some() {
        return c;
    }
    let mut c = c;
    let charge_id = format!("rp-{}-{}-fee", c.r.id.simple(), c.r.round);
    c.r.decline_fee = Some(Fee {
        charge_id: charge_id.clone(),
        minor,
        charged: None,
        failure: String::new(),
        unanswered: 0,
    });
    c.start(ClockKind::Charge)
        .emit(Effect::Charge { charge_id, minor })
}

/// The fee's charge answered (`failure` when declined): recorded, its clock stopped.
/// None when `charge_id` is not the fee's open charge.
fn fee_answered<'a>(c: Change<'a>, charge_id: &str, failure: Option<String>) -> Option<Change<'a>> {
    let mut c = c;
    let now = c.now;
    let f =
        c.r.decline_fee
            .as_mut()
            .filter(|f| f.charge_id == charge_id && f.charged.is_none() && f.failure.is_empty())?;
    let c = match failure {
        None => {
            f.charged = Some(now);
            c.stop(ClockKind::Charge)
                .notify(Party::Buyer, "repair_fee_charged")
        }
        Some(why) => {
            f.failure = why;
            c.stop(ClockKind::Charge)
                .notify(Party::Buyer, "repair_fee_charge_failed")
                .notify(Party::Desk, "repair_fee_unpaid")
        }
    };
    Some(c)
}

/// Whether `cmd` answers or re-asks the inspection fee's charge (which may outlive the
/// repair: the item goes back while it is asked).
pub(super) fn fee_step(r: &crate::domain::repair::Repair, cmd: &super::Command) -> bool {
    use super::Command::*;
    let open = r.open_fee();
    match cmd {
        Charged { charge_id } | ChargeFailed { charge_id, .. } => {
            open.is_some_and(|f| f.charge_id == *charge_id)
        }
        Expired {
            kind: ClockKind::Charge,
        } => open.is_some(),
        _ => false,
    }
}

fn charge_of<'c>(c: &'c mut Change, charge_id: &str) -> Option<&'c mut Quote> {
    c.r.quote
        .as_mut()
        .filter(|q| q.charge_id.as_deref() == Some(charge_id) && q.charged.is_none())
}

pub(super) fn charged(c: Change, charge_id: String) -> Result<Change, Refusal> {
    if c.r
        .decline_fee
        .as_ref()
        .is_some_and(|f| f.charge_id == charge_id)
    {
        let illegal = c.illegal();
        return fee_answered(c, &charge_id, None).ok_or(illegal);
    }
    c.only_in(&[Quoted])?;
    let (illegal, now) = (c.illegal(), c.now);
    let mut c = c;
    let q = charge_of(&mut c, &charge_id).ok_or(illegal)?;
    q.charged = Some(now);
    q.charge_failure.clear();
    Ok(start_work(c.stop(ClockKind::Charge)))
}

/// The charge was refused: the quote is open to the buyer again (told why).
pub(super) fn charge_failed(c: Change, charge_id: String, why: String) -> Result<Change, Refusal> {
    if c.r
        .decline_fee
        .as_ref()
        .is_some_and(|f| f.charge_id == charge_id)
    {
        let illegal = c.illegal();
        return fee_answered(c, &charge_id, Some(why)).ok_or(illegal);
    }
    c.only_in(&[Quoted])?;
    let illegal = c.illegal();
    let mut c = c;
    let q = charge_of(&mut c, &charge_id).ok_or(illegal)?;
    q.accepted = None;
    q.decided = None;
    q.charge_id = None;
    q.charge_failure = why;
    Ok(c.stop(ClockKind::Charge)
        .start(ClockKind::QuoteDecision)
        .notify(Party::Buyer, "repair_charge_failed"))
}

/// The one extension, announced before the due time with a reason and a new ETA.
pub(super) fn extend(c: Change, reason: String, new_due: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Repairing])?;
    let due = c.r.repair_due.ok_or(c.illegal())?;
    // at most one more repair period past the current due time
    let latest = c.due_of(ClockKind::RepairDue, due);
    let asked = (new_due, latest);
    let e = extension::extend(due, c.r.extension.as_ref(), &reason, asked, c.now).map_err(|e| {
        Refusal::Precondition {
            reason: e.reason(),
            why: match e {
                extension::Refused::AlreadyExtended => "the one extension was used".into(),
                extension::Refused::DuePassed => {
                    "an extension is announced before the due time".into()
                }
                extension::Refused::NotLater => "the new ETA is not after the due time".into(),
                extension::Refused::NoReason => "an extension says why".into(),
                extension::Refused::TooLate => format!(
                    "the new ETA is at most one more repair period away ({})",
                    latest.to_rfc3339()
                ),
            },
        }
    })?;
    let mut c = c;
    c.r.extension = Some(e);
    c.r.repair_due = Some(new_due);
    Ok(c.start_until(ClockKind::RepairDue, new_due)
        .notify(Party::Buyer, "repair_extended"))
}

/// A progress step, shown to the buyer and pushed to them (seed 001 §4.3).
pub(super) fn progress(
    c: Change,
    (role, actor_id): (String, String),
    stage: String,
    message: String,
) -> Result<Change, Refusal> {
    c.only_in(&[Accepted, Diagnosed, Quoted, Repairing, ReadyToShip, Shipped])?;
    let mut c = c;
    c.r.progress.push(Progress {
        at: c.now,
        role,
        actor_id,
        stage,
        message,
    });
    Ok(c.notify(Party::Buyer, "repair_progress"))
}

/// The quality check passed: ready to go back. A repair past its due time owes the late
/// penalty, asked for now, less the time the buyer held it up.
pub(super) fn complete(c: Change, passed: bool, note: String) -> Result<Change, Refusal> {
    c.only_in(&[Repairing])?;
    if !passed {
        return Err(Refusal::Precondition {
            reason: "QUALITY_CHECK_FAILED",
            why: "a repair that fails its quality check is not done".into(),
        });
    }
    let mut c = c.stop(ClockKind::RepairDue).stop(ClockKind::Overdue);
    c.r.quality_check_note = note;
    c.r.repaired = true;
    if let Some(due) = c.r.repair_due {
        let (days, minor) = late_penalty(c.r.line_minor, due, c.now, &c.r.buyer_delays);
        c.r.late_days += days;
        c.r.penalty_minor += minor;
        if minor > 0 {
            let round = c.r.round;
            c = c.emit(Effect::RequestPenalty { round, days, minor });
        }
    }
    Ok(c.to(ReadyToShip)
        .start(ClockKind::MerchantStep)
        .notify(Party::Buyer, "repair_completed"))
}
