//! A clock ran out (the SLA service's callback): what its expiry does. A merchant's
//! clock records a breach and tells the desk, and a new period starts while the step is
//! still owed; the buyer's quote decision lapses into a decline; the acceptance clock
//! accepts; an item never sent closes the repair after a second period.

use super::{Change, Event, Refusal, back, front};
use crate::domain::{
    clocks::ClockKind::{self, *},
    kinds::{Party, State::*},
};

/// Charge-clock periods an inspection fee is asked for before the desk takes it over.
const FEE_ASKS: u32 = 4;

pub(super) fn expired(c: Change, kind: ClockKind) -> Result<Change, Refusal> {
    let Some(clock) = c.r.clock(kind).cloned() else {
        return Err(c.illegal());
    };
    // the fired timer is done: a new period is a new timer, never a cancel of this one
    let c = c.fired(kind);
    let c = match kind {
        FirstResponse => c
            .breach(kind, clock.due)
            .notify(Party::Desk, "repair_first_response_breached"),
        FormalAnswer => c
            .breach(kind, clock.due)
            .start(kind)
            .notify(Party::Desk, "repair_answer_overdue")
            .notify(Party::Merchant, "repair_answer_overdue"),
        // no parcel after a second period: the buyer is not sending it
        ItemInbound if c.r.inbound.is_none() && c.r.item_awaited >= 1 => {
            let why = "the item was not sent within two item_inbound periods";
            front::close_unrepaired(c, why.into())
        }
        ItemInbound => {
            let mut c = c;
            if c.r.inbound.is_none() {
                c.r.item_awaited += 1;
            }
            c.start(kind)
                .notify(Party::Buyer, "repair_item_awaited")
                .notify(Party::Desk, "repair_item_awaited")
        }
        MerchantStep => c
            .breach(kind, clock.due)
            .start(kind)
            .notify(Party::Desk, "repair_step_overdue")
            .notify(Party::Merchant, "repair_step_overdue"),
        QuoteDecision => {
            let mut c = c;
            if let Some(q) = c.r.quote.as_mut() {
                q.accepted = Some(false);
                q.decided = Some(c.now);
                q.decline_reason = "the buyer did not answer the quote".into();
            }
            let c = c
                .to(ReadyToShip)
                .start(MerchantStep)
                .notify(Party::Buyer, "repair_quote_lapsed")
                .notify(Party::Merchant, "repair_quote_lapsed");
            super::work::owe_fee(c)
        }
        // the gateway never answered (an outage, a crash before the answer was applied):
        // asked again under the same id, which charges at most once; an inspection fee
        // unanswered that long is left to the desk
        Charge => {
            let mut c = c;
            if let Some(f) =
                c.r.decline_fee
                    .as_mut()
                    .filter(|f| f.charged.is_none() && f.failure.is_empty())
            {
                f.unanswered += 1;
                if f.unanswered >= FEE_ASKS {
                    f.failure = format!("no answer from the payment gateway after {FEE_ASKS} asks");
                    return Ok(c.notify(Party::Desk, "repair_fee_unpaid"));
                }
            }
            let c = c.start(kind).notify(Party::Desk, "repair_charge_pending");
            match c.r.pending_charge() {
                Some((charge_id, minor)) => {
                    let charge_id = charge_id.to_string();
                    c.emit(super::Effect::Charge { charge_id, minor })
                }
                None => c,
            }
        }
        RepairDue => {
            let mut c = c.breach(kind, clock.due);
            c.r.overdue_since = Some(clock.due);
            c.start(Overdue)
                .publish(Event::Overdue)
                .notify(Party::Buyer, "repair_overdue")
                .notify(Party::Merchant, "repair_overdue")
                .notify(Party::Desk, "repair_overdue")
        }
        Overdue => c
            .start(kind)
            .notify(Party::Merchant, "repair_overdue")
            .notify(Party::Desk, "repair_overdue"),
        Transit => c
            .start(kind)
            .notify(Party::Buyer, "repair_parcel_late")
            .notify(Party::Desk, "repair_parcel_late"),
        BuyerAcceptance => return back::accept(c, true),
    };
    Ok(c)
}
