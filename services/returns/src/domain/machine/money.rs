//! Money: the refunds a request asks for and their settlement, the refund or
//! replacement running late, and the penalty charged for it.

use chrono::{DateTime, Utc};

use super::{Change, ClockKind, Effect, Event, RefundPurpose, Refusal};
use crate::domain::{
    case::Party,
    kinds::State::*,
    lateness::{late_days, penalty},
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
        .notify(Party::Buyer, "refund_settled"))
}

/// The refund_or_replacement clock ran out: the merchant is late from its due time.
pub(super) fn overdue(mut c: Change, now: DateTime<Utc>) -> Result<Change, Refusal> {
    c.only_in(&[Refunding, AwaitingReplacement])?;
    let due = c.case.clock.as_ref().and_then(|k| k.due).unwrap_or(now);
    c.case.overdue_since = Some(due);
    Ok(c.publish(Event::Overdue)
        .notify(Party::Merchant, "return_overdue"))
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
    let shipping = c.case.shipping.amount_minor;
    if shipping > 0 {
        let purpose = match c.case.shipping.payer {
            Payer::Seller => Some(RefundPurpose::ShippingFee),
            Payer::ShippingInsurance => Some(RefundPurpose::ShippingInsurance),
            Payer::Buyer => None,
        };
        if let Some(purpose) = purpose {
            c.case.refunds.shipping_minor = shipping;
            c = c.emit(Effect::RequestRefund {
                purpose,
                amount_minor: shipping,
            });
        }
    }
    c.start(ClockKind::RefundOrReplacement, now)
}

/// The merchant delivers at `done`: when the 7-working-day clock had run out, the days
/// late are fixed and the penalty (0.5 %/day of the line, seed 001 §5.3.1) is requested.
pub(super) fn charge_lateness(mut c: Change, done: DateTime<Utc>) -> Change {
    let Some(since) = c.case.overdue_since else {
        return c;
    };
    let days = late_days(since, done).max(1);
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
