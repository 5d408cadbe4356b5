//! What a transition causes elsewhere, as outbox rows in its own transaction: SLA clocks
//! scheduled and cancelled, notifications, the `repairs` stream's events, shipments
//! registered with logistics, the late penalty asked of refunds. Every key is
//! deterministic (repair, purpose, step or round), so a replayed step queues nothing
//! twice and every receiver applies it once.

use aftersales_proto::aftersales::{
    common::v1::{ActorRole, CaseContext, Money},
    logistics::v1::{RegisterShipmentRequest, ShipmentLeg},
    refunds::v1::{CreateRefundRequest, FundingParty, RefundKind},
    repairs::v1::{
        RepairCompleted, RepairOverdue, RepairQuoted, RepairRequested, RepairStateChanged,
    },
};
use kit::{
    outbox::{Batch, request_id_for},
    sla,
    time::ts,
};

use crate::{
    domain::{
        kinds::{Party, State},
        machine::{Effect, Event, Leg},
        repair::Repair,
    },
    names::{DESK, clock_key, name, timer_id},
};

const SOURCE: &str = "repairs";
/// What a buyer whose repair was declined can do.
const DECLINED_WHAT_NEXT: &str = "file a complaint about the decline (the platform's desk \
     reviews it within its own clocks), or have the item repaired elsewhere";
const TOPIC: &str = "repairs";

/// The case facts every event carries.
pub fn context(r: &Repair) -> Option<CaseContext> {
    Some(CaseContext {
        case_name: name(r),
        order_id: r.order_id.clone(),
        order_line_id: r.order_line_id.clone(),
        buyer_id: r.buyer_id.clone(),
        merchant_id: r.merchant_id.clone(),
        category: r.category.clone(),
        region: r.region.clone(),
    })
}

fn money(minor: i64, r: &Repair) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: r.currency.clone(),
    })
}

/// Writes the outbox rows of `effects` for `r` (as it is after the step that caused them),
/// `before` its state before and `action` the step's name.
pub fn write(out: &mut Batch, r: &Repair, before: State, action: &str, effects: &[Effect]) {
    for e in effects {
        match e {
            Effect::StartClock { seq } => schedule(out, r, *seq),
            Effect::StopClock { seq } => {
                let key = format!("{}:cancel", clock_key(r, *seq));
                sla::cancel(
                    out,
                    &key,
                    &timer_id(r, *seq),
                    format!("{} moved on", name(r)),
                );
            }
            Effect::Notify { to, template } => notify(out, r, *to, template),
            Effect::Publish(event) => publish(out, r, before, action, event),
            Effect::RegisterShipment { leg } => shipment(out, r, *leg),
            Effect::RequestPenalty { round, days, minor } => {
                penalty(out, r, (*round, *days), *minor)
            }
            // a call after the commit (`charges`), not a row: its answer is the next step
            Effect::Charge { .. } => {}
        }
    }
}

fn schedule(out: &mut Batch, r: &Repair, seq: u32) {
    let Some(k) = r.clocks.iter().find(|k| k.seq == seq) else {
        return;
    };
    let clock = sla::Clock {
        timer_id: timer_id(r, seq),
        subject: name(r),
        kind: k.kind.as_str().into(),
        start: k.start,
        // dated here on the calendar, so the repair shows the due the timer fires at
        span: sla::Span::After((k.due - k.start).to_std().unwrap_or_default()),
        remind_at: None,
        labels: sla::Labels::new(&r.merchant_id, k.kind.party()),
    };
    sla::schedule(out, &clock_key(r, seq), &clock);
}

/// The new repair: RepairRequested.
pub fn requested(out: &mut Batch, r: &Repair) {
    let ev = RepairRequested {
        context: context(r),
        within_warranty: r.within_warranty,
    };
    out.event(SOURCE, TOPIC, &format!("{}:requested", name(r)), &ev);
}

fn publish(out: &mut Batch, r: &Repair, before: State, action: &str, e: &Event) {
    let id = format!("{}:{}:{e:?}", name(r), r.step);
    match e {
        Event::StateChanged => {
            let ev = RepairStateChanged {
                context: context(r),
                from_state: before as i32,
                to_state: r.state as i32,
                action: action.into(),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
        Event::Quoted => {
            let total = r.quote.as_ref().map_or(0, |q| q.priced.total);
            let ev = RepairQuoted {
                context: context(r),
                total: money(total, r),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
        Event::Overdue => {
            let ev = RepairOverdue {
                context: context(r),
                due_time: r.overdue_since.map(ts),
                transaction_amount: money(r.line_minor, r),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
        Event::Completed => {
            let ev = RepairCompleted {
                context: context(r),
                request_time: Some(ts(r.created)),
                first_response_time: r.first_response.map(ts),
                complete_time: r.closed.map(ts),
                rounds: r.round,
                auto_accepted: r.auto_accepted,
                penalty_amount: money(r.penalty_minor, r),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
    }
}

/// Registers a parcel with logistics as the repair's inbound or outbound leg.
fn shipment(out: &mut Batch, r: &Repair, leg: Leg) {
    let (parcel, proto_leg, label) = match leg {
        Leg::Inbound => (&r.inbound, ShipmentLeg::RepairInbound, "inbound"),
        Leg::Outbound => (&r.outbound, ShipmentLeg::RepairOutbound, "outbound"),
        Leg::SpareOut => (&r.spare, ShipmentLeg::SpareOutbound, "spare"),
        Leg::SpareBack => (&r.spare_return, ShipmentLeg::SpareReturn, "spare_return"),
    };
    let Some(p) = parcel else { return };
    let key = format!(
        "{}:shipment:{}:{label}:{}/{}",
        name(r),
        r.round,
        p.carrier,
        p.tracking
    );
    let req = RegisterShipmentRequest {
        case_name: name(r),
        leg: proto_leg as i32,
        carrier_code: p.carrier.clone(),
        tracking_number: p.tracking.clone(),
        request_id: request_id_for(&key),
        // so the buyer and the merchant can follow the parcel themselves
        buyer_id: r.buyer_id.clone(),
        merchant_id: r.merchant_id.clone(),
        ..Default::default()
    };
    out.command(
        "logistics",
        "/aftersales.logistics.v1.LogisticsService/RegisterShipment",
        &key,
        &req,
    );
}

/// The late penalty of round `round`, once (seed 001 §5.3.1), paid by the merchant.
fn penalty(out: &mut Batch, r: &Repair, (round, days): (u32, u32), minor: i64) {
    let key = format!("{}:penalty:{round}", name(r));
    let req = CreateRefundRequest {
        kind: RefundKind::LatePenalty as i32,
        source_case: name(r),
        order_id: r.order_id.clone(),
        order_line_id: r.order_line_id.clone(),
        amount: money(minor, r),
        reason: format!("repair {} round {round} done {days} day(s) late", r.number),
        funded_by: FundingParty::Merchant as i32,
        request_id: request_id_for(&key),
    };
    out.command(
        "refunds",
        "/aftersales.refunds.v1.RefundsService/CreateRefund",
        &key,
        &req,
    );
}

/// Tells `to` with `template`, once per (repair, step, party, template).
pub fn notify(out: &mut Batch, r: &Repair, to: Party, template: &str) {
    let key = format!("{}:notify:{}:{template}:{to:?}", name(r), r.step);
    let mut params = vec![
        ("repair".to_string(), name(r)),
        ("repair_number".to_string(), r.number.clone()),
        ("state".to_string(), r.state.as_str().to_string()),
    ];
    if let Some(k) = r.shown_clock() {
        params.push(("clock".into(), k.kind.as_str().into()));
        params.push(("due_time".into(), k.due.to_rfc3339()));
    }
    if !r.decline_reason.is_empty() && to == Party::Buyer {
        params.push(("reason".into(), r.decline_reason.clone()));
        // a decline tells the buyer what they can do (SPEC §5)
        params.push(("what_next".into(), DECLINED_WHAT_NEXT.into()));
    }
    if !r.cancel_reason.is_empty() {
        params.push(("reason".into(), r.cancel_reason.clone()));
    }
    // the gateway's decline is the buyer's business only
    if let Some(q) = r.quote.as_ref().filter(|q| !q.charge_failure.is_empty())
        && to == Party::Buyer
        && template == "repair_charge_failed"
    {
        params.push(("charge_failure".into(), q.charge_failure.clone()));
    }
    let about_fee = template.starts_with("repair_fee") || template.starts_with("repair_quote_");
    if let Some(f) = r.decline_fee.as_ref().filter(|_| about_fee) {
        params.push(("fee_minor".into(), f.minor.to_string()));
        params.push(("currency".into(), r.currency.clone()));
        // the gateway's text for the buyer and the desk that settles it, never the merchant
        if to != Party::Merchant && !f.failure.is_empty() {
            params.push(("charge_failure".into(), f.failure.clone()));
        }
    }
    let to = match to {
        Party::Buyer => (ActorRole::Buyer, r.buyer_id.as_str()),
        Party::Merchant => (ActorRole::Merchant, r.merchant_id.as_str()),
        Party::Desk => (ActorRole::Agent, DESK),
    };
    out.notify(&key, to, template, params);
}
