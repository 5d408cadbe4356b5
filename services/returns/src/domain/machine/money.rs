//! Money: the refunds a request asks for, their settlement and their problems at the
//! gateway, the refund or replacement running late, and the penalty charged for it.

use chrono::{DateTime, Utc};

use super::{Change, ClockKind, Effect, Event, RefundPurpose, Refusal};
use crate::domain::{
    case::{Party, RefundProblem, RefundProblemKind},
    kinds::State::*,
    lateness::{chargeable_days, penalty},
    policy::Payer,
};

/// Refunds reports a refund requested for the request: it is listed (once).
pub(super) fn refund_requested(mut c: Change, refund: String) -> Change {
    if !c.case.refunds.names.contains(&refund) {
        c.case.refunds.names.push(refund);
    }
    c
}

/// Refunds reports a refund settled; the goods' refund completes a refunding request.
/// The buyer hears of it from refunds (which announces every settled refund, with its
/// amount), so this request tells only the merchant that the case is done.
pub(super) fn refund_settled(
    mut c: Change,
    refund: String,
    goods: bool,
    amount_minor: i64,
    at: DateTime<Utc>,
) -> Result<Change, Refusal> {
    if c.case.refunds.settled.contains(&refund) {
        return Err(c.illegal());
    }
    c.case.refunds.settled.push(refund.clone());
    for p in c.case.refund_problems.iter_mut() {
        if p.refund == refund && p.until.is_none() {
            p.until = Some(at);
        }
    }
    if !c.case.refunds.names.contains(&refund) {
        c.case.refunds.names.push(refund);
    }
    c.case.refunds.settled_minor += amount_minor;
    c.case.refunds.settle_time = Some(at);
    if !(goods && c.from == Refunding) {
        return Ok(c);
    }
    c.case.closed = Some(at);
    let c = charge_lateness(c, at);
    Ok(c.to(Completed)
        .stop()
        .publish(Event::Completed { auto: false })
        .notify(Party::Merchant, "return_completed"))
}

/// Refunds reports a refund of this request failed at the gateway or needs an agent:
/// it is shown on the request and the platform desk is told; when it is the goods'
/// refund of a refunding request, the merchant's late penalty does not accrue from now
/// until it settles (that delay is the gateway's). A second report of the same refund
/// while it lasts changes nothing.
pub(super) fn refund_problem(
    mut c: Change,
    refund: String,
    kind: RefundProblemKind,
    reason: String,
    goods: bool,
    at: DateTime<Utc>,
) -> Result<Change, Refusal> {
    if c.case.refunds.settled.contains(&refund)
        || c.case
            .refund_problems
            .iter()
            .any(|p| p.refund == refund && p.kind == kind && p.until.is_none())
    {
        return Err(c.illegal());
    }
    if !c.case.refunds.names.contains(&refund) {
        c.case.refunds.names.push(refund.clone());
    }
    let detail = format!("{refund}: {reason}");
    c.case.refund_problems.push(RefundProblem {
        refund,
        kind,
        reason,
        since: at,
        until: None,
        excuses: goods && c.from == Refunding,
    });
    let cause = match kind {
        RefundProblemKind::Failed => "refund_failed",
        RefundProblemKind::Escalated => "refund_escalated",
    };
    Ok(c.publish(Event::Escalated { cause, detail })
        .notify(Party::Platform, cause))
}

/// The refund_or_replacement clock ran out: the merchant is late from its due time,
/// the penalty accrues by the day (shown on the request, charged when it delivers) and
/// the platform desk is told (SPEC §3 "late penalty accrues, escalation"). The request
/// waits on under the desk's eyes for the refund or the replacement.
pub(super) fn overdue(mut c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Refunding, AwaitingReplacement])?;
    let due = c.case.clock.as_ref().and_then(|k| k.due).unwrap_or(now);
    if c.case.late_days == 0 {
        c.case.overdue_since = Some(due);
    }
    if let Some(k) = c.case.clock.as_mut() {
        k.escalated.get_or_insert(now);
    }
    Ok(c.publish(Event::Overdue)
        .notify(Party::Merchant, "return_overdue")
        .notify(Party::Platform, "return_overdue"))
}

/// Asks refunds for the goods and, when the seller or the insurance pays the return
/// shipping, for what the buyer spent on it; starts the refund_or_replacement clock.
pub(super) fn request_refunds(mut c: Change, now: DateTime<Utc>) -> Change {
    let goods = c.case.line_amount_minor;
    c.case.refunds.goods_minor = goods;
    c = c.emit(Effect::RequestRefund {
        purpose: RefundPurpose::Goods,
        amount_minor: goods,
    });
    request_shipping_refund(c).start(ClockKind::RefundOrReplacement, now)
}

/// When the seller or the insurance pays the return shipping: asks refunds for what
/// the buyer spent on it (carrier cost and, from the seller, packaging).
pub(super) fn request_shipping_refund(mut c: Change) -> Change {
    let shipping = c.case.shipping.amount_minor;
    let purpose = match c.case.shipping.payer {
        Payer::Seller => RefundPurpose::ShippingFee,
        Payer::ShippingInsurance => RefundPurpose::ShippingInsurance,
        Payer::Buyer => return c,
    };
    // once per request: an exchange asked for it at inspection, before its replacement
    // was lost and the goods refunded
    if shipping <= 0 || c.case.refunds.shipping_minor > 0 {
        return c;
    }
    c.case.refunds.shipping_minor = shipping;
    c.emit(Effect::RequestRefund {
        purpose,
        amount_minor: shipping,
    })
}

/// The merchant delivers at `done`: when the 7-working-day clock had run out, the days
/// late are fixed and the penalty (0.5 %/day of the line, seed 001 §5.3.1) is requested,
/// without the time a refund problem held it up (§5.3.2). Once per request: its
/// penalty refund has one key, so a refund after a lost replacement charges no second.
pub(super) fn charge_lateness(mut c: Change, done: DateTime<Utc>) -> Change {
    let Some(since) = c.case.overdue_since else {
        return c;
    };
    if c.case.late_days > 0 {
        return c;
    }
    let days = chargeable_days(&c.case, since, done);
    if days == 0 {
        // all of the lateness was the gateway's: nothing is owed, nothing accrues
        c.case.overdue_since = None;
        return c;
    }
    let penalty = penalty(c.case.line_amount_minor, days);
    (c.case.late_days, c.case.penalty_minor) = (days, penalty);
    if penalty > 0 {
        c = c.emit(Effect::RequestRefund {
            purpose: RefundPurpose::LatePenalty,
            amount_minor: penalty,
        });
    }
    c
}
