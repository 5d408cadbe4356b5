//! What a transition causes elsewhere, written as outbox rows in its own transaction
//! (DESIGN §1): SLA timers scheduled and cancelled, refunds requested, shipments
//! registered, domain events published, notifications sent. Every key is deterministic
//! (case, purpose, sequence), so a replayed transition queues nothing twice and every
//! receiver applies it once.

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole, CaseContext, Money},
    logistics::v1::{RegisterShipmentRequest, ShipmentLeg},
    refunds::v1::{CreateRefundRequest, RefundKind},
    returns::v1::{
        DisputeOpened, ReplacementShipped, ReturnApproved, ReturnCancelled, ReturnClosed,
        ReturnCompleted, ReturnEscalated, ReturnInspected, ReturnOverdue, ReturnParcelLost,
        ReturnRejected, ReturnRequested, ReturnRevised, ReturnShipped, dispute_opened::Origin,
    },
};
use kit::{
    outbox::{Batch, request_id_for},
    sla,
    time::ts,
};

mod notice;

use crate::{
    domain::{
        case::{Case, DisputeOrigin, Party},
        clocks::{self, Span},
        machine::{Effect, Event, Leg, RefundPurpose},
        policy::Policy,
    },
    names::{clock_key, timer_id},
    render,
    settings::Settings,
};

const SOURCE: &str = "returns";
const TOPIC: &str = "returns";

/// The case facts every event carries.
pub fn context(c: &Case) -> Option<CaseContext> {
    Some(CaseContext {
        case_name: c.name(),
        order_id: c.order_id.clone(),
        order_line_id: c.order_line_id.clone(),
        buyer_id: c.buyer_id.clone(),
        merchant_id: c.merchant_id.clone(),
        category: c.category.clone(),
        region: c.region.clone(),
    })
}

fn money(minor: i64, c: &Case) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: c.currency.clone(),
    })
}

/// Writes the outbox rows of `effects`; `span` gives the running clock's span.
pub fn write(out: &mut Batch, c: &Case, effects: &[Effect], span: Option<&Span>) {
    for e in effects {
        match e {
            Effect::StartClock => {
                if let (Some(clock), Some(span)) = (&c.clock, span) {
                    schedule(
                        out,
                        c,
                        clock.seq,
                        clock.kind.as_str(),
                        clock.start,
                        span,
                        clock.kind.reminds(),
                    )
                }
            }
            Effect::StopClock { seq } => {
                let key = format!("{}:cancel", clock_key(c, *seq));
                let reason = format!("{} moved on", c.name());
                sla::cancel(out, &key, &timer_id(c, *seq), reason);
            }
            Effect::RequestRefund {
                purpose,
                amount_minor,
            } => refund(out, c, *purpose, *amount_minor),
            Effect::RegisterShipment { leg } => shipment(out, c, *leg),
            Effect::Publish(event) => publish(out, c, event),
            Effect::Notify { to, template } => notify(out, c, *to, template),
        }
    }
}

fn schedule(
    out: &mut Batch,
    c: &Case,
    seq: u32,
    kind: &str,
    start: chrono::DateTime<chrono::Utc>,
    span: &Span,
    remind: bool,
) {
    let span = match span {
        Span::After(d) => sla::Span::After(*d),
        Span::WorkingDays(n) => sla::Span::WorkingDays {
            days: *n,
            calendar: "cn".into(),
        },
    };
    let clock = sla::Clock {
        timer_id: timer_id(c, seq),
        subject: c.name(),
        kind: kind.into(),
        start,
        span,
        // the buyer's ship-back clock reminds at 80 % elapsed (SPEC §3)
        remind_at: remind.then_some(0.8),
        labels: sla::Labels::new(&c.merchant_id, party(c, kind)),
    };
    sla::schedule(out, &clock_key(c, seq), &clock);
}

/// Whose clock `kind` of `c` is: the refund of a return is the platform's to pay, the
/// replacement of an exchange the merchant's to ship.
fn party(c: &Case, kind: &str) -> &'static str {
    use crate::domain::{clocks::ClockKind, kinds::Kind};
    match ClockKind::parse(kind) {
        Some(ClockKind::RefundOrReplacement) if c.kind != Kind::Exchange => sla::party::PLATFORM,
        Some(k) => k.party(),
        None => sla::party::PLATFORM,
    }
}

fn refund(out: &mut Batch, c: &Case, purpose: RefundPurpose, amount: i64) {
    let key = format!("{}:refund:{}", c.name(), purpose.as_str());
    let (kind, reason) = match purpose {
        RefundPurpose::Goods => (
            RefundKind::Goods,
            format!("{} of {} returned", c.quantity, c.order_line_id),
        ),
        RefundPurpose::ShippingFee => (
            RefundKind::ReturnShipping,
            "return shipping paid by the seller".to_string(),
        ),
        RefundPurpose::ShippingInsurance => (
            RefundKind::ShippingInsurance,
            "return shipping insurance claim".to_string(),
        ),
        RefundPurpose::LatePenalty => (
            RefundKind::LatePenalty,
            format!("merchant {} day(s) late: 0.5 % a day", c.late_days),
        ),
    };
    let req = CreateRefundRequest {
        kind: kind as i32,
        source_case: c.name(),
        order_id: c.order_id.clone(),
        order_line_id: c.order_line_id.clone(),
        amount: money(amount, c),
        reason,
        request_id: request_id_for(&key),
        ..Default::default()
    };
    out.command(
        "refunds",
        "/aftersales.refunds.v1.RefundsService/CreateRefund",
        &key,
        &req,
    );
}

fn shipment(out: &mut Batch, c: &Case, leg: Leg) {
    let (parcel, proto_leg, name) = match leg {
        Leg::Return => (&c.return_parcel, ShipmentLeg::Return, "return"),
        Leg::Replacement => (
            &c.replacement_parcel,
            ShipmentLeg::Replacement,
            "replacement",
        ),
    };
    let Some(p) = parcel else { return };
    // per tracking number: a return parcel the carrier brought back is shipped again
    let key = format!("{}:shipment:{name}:{}", c.name(), p.tracking_number);
    let req = RegisterShipmentRequest {
        case_name: c.name(),
        leg: proto_leg as i32,
        carrier_code: p.carrier_code.clone(),
        tracking_number: p.tracking_number.clone(),
        promised_delivery_time: p.promised.map(ts),
        request_id: request_id_for(&key),
        // so the case's buyer and merchant can read the shipment's timeline themselves
        buyer_id: c.buyer_id.clone(),
        merchant_id: c.merchant_id.clone(),
        destination: None,
    };
    out.command(
        "logistics",
        "/aftersales.logistics.v1.LogisticsService/RegisterShipment",
        &key,
        &req,
    );
}

/// Publishes the ReturnRequested of a new request.
pub fn requested(out: &mut Batch, c: &Case) {
    let ev = ReturnRequested {
        context: context(c),
        kind: c.kind as i32,
        reason: c.reason as i32,
        quantity: c.quantity,
        review_due_time: c.clock.as_ref().and_then(|k| k.due).map(ts),
    };
    out.event(SOURCE, TOPIC, &c.name(), &ev);
}

fn publish(out: &mut Batch, c: &Case, event: &Event) {
    let subject = c.name();
    let ctx = context(c);
    match event {
        Event::Approved { auto } => {
            let ev = ReturnApproved {
                context: ctx,
                kind: c.kind as i32,
                auto_approved: *auto,
                request_time: Some(ts(c.created)),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Rejected => {
            let r = c.rejection.as_ref();
            let ev = ReturnRejected {
                context: ctx,
                reason: r.map(|r| r.reason.clone()).unwrap_or_default(),
                appeal_deadline: r.and_then(|r| r.appeal_deadline).map(ts),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Revised => {
            let ev = ReturnRevised {
                context: ctx,
                reason: c.reason as i32,
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Cancelled { reason } => {
            let ev = ReturnCancelled {
                context: ctx,
                reason: reason.clone(),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::DisputeOpened {
            origin,
            by,
            statement,
            evidence: ev_refs,
        } => {
            let ev = DisputeOpened {
                context: ctx,
                origin: match origin {
                    DisputeOrigin::Appeal => Origin::Appeal,
                    DisputeOrigin::InspectionFailed => Origin::InspectionFailed,
                    DisputeOrigin::ParcelUntracked => Origin::ParcelUntracked,
                } as i32,
                raised_by: Some(actor(c, *by)),
                statement: statement.clone(),
                evidence: render::evidence_out(ev_refs),
                amount: money(c.line_amount_minor, c),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Shipped => {
            let p = c.return_parcel.as_ref();
            let ev = ReturnShipped {
                context: ctx,
                carrier_code: p.map(|p| p.carrier_code.clone()).unwrap_or_default(),
                tracking_number: p.map(|p| p.tracking_number.clone()).unwrap_or_default(),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Inspected { passed, auto } => {
            let ev = ReturnInspected {
                context: ctx,
                result: if *passed { 1 } else { 2 },
                auto_passed: *auto,
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::ReplacementShipped => {
            let p = c.replacement_parcel.as_ref();
            let ev = ReplacementShipped {
                context: ctx,
                carrier_code: p.map(|p| p.carrier_code.clone()).unwrap_or_default(),
                tracking_number: p.map(|p| p.tracking_number.clone()).unwrap_or_default(),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Overdue => {
            let ev = ReturnOverdue {
                context: ctx,
                due_time: c.overdue_since.map(ts),
                transaction_amount: money(c.line_amount_minor, c),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Completed { auto } => {
            let ev = ReturnCompleted {
                context: ctx,
                kind: c.kind as i32,
                request_time: Some(ts(c.created)),
                first_response_time: c.first_response.map(ts),
                complete_time: c.closed.map(ts),
                refunded_amount: money(c.refunds.settled_minor, c),
                penalty_amount: money(c.penalty_minor, c),
                auto_confirmed: *auto,
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Closed { reason } => {
            let ev = ReturnClosed {
                context: ctx,
                state: c.state as i32,
                reason: reason.clone(),
                kind: c.kind as i32,
                request_time: Some(ts(c.created)),
                first_response_time: c.first_response.map(ts),
                close_time: c.closed.map(ts),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::ParcelLost { leg } => {
            let p = c.parcel(*leg);
            let problem = p.and_then(|p| p.problem.as_ref());
            let ev = ReturnParcelLost {
                context: ctx,
                leg: leg.as_str().into(),
                cause: problem.map_or(0, |x| render::parcel_cause(x.cause) as i32),
                detail: problem.map(|x| x.detail.clone()).unwrap_or_default(),
                outcome: problem
                    .map(|x| x.outcome.as_str().to_string())
                    .unwrap_or_default(),
                carrier_code: p.map(|p| p.carrier_code.clone()).unwrap_or_default(),
                tracking_number: p.map(|p| p.tracking_number.clone()).unwrap_or_default(),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
        Event::Escalated { cause, detail } => {
            let ev = ReturnEscalated {
                context: ctx,
                cause: (*cause).into(),
                detail: detail.clone(),
                escalate_time: Some(ts(c.updated)),
            };
            out.event(SOURCE, TOPIC, &subject, &ev);
        }
    }
}

fn actor(c: &Case, p: Party) -> Actor {
    match p {
        Party::Buyer => Actor {
            role: ActorRole::Buyer as i32,
            id: c.buyer_id.clone(),
        },
        Party::Merchant => Actor {
            role: ActorRole::Merchant as i32,
            id: c.merchant_id.clone(),
        },
        Party::Platform => Actor {
            role: ActorRole::Agent as i32,
            id: "platform".into(),
        },
    }
}

/// Tells `to` about the request. One notification per (request, step, party): the key
/// is the step (the request's transition count) with the party and template, so a
/// replayed step notifies nobody twice and a later step (even to the same state with
/// the same template, such as a second refund problem) notifies again.
pub fn notify(out: &mut Batch, c: &Case, to: Party, template: &str) {
    let key = notify_key(c, to, template);
    let who = recipient(c, to);
    let role = ActorRole::try_from(who.role).unwrap_or(ActorRole::Unspecified);
    out.notify(&key, (role, &who.id), template, notice::params(c, to));
}

/// The outbox key (and so the notification id) of telling `to` with `template` at the
/// request's current step.
fn notify_key(c: &Case, to: Party, template: &str) -> String {
    format!("{}:notify:{}:{template}:{:?}", c.name(), c.step, to)
}

/// Who a notification goes to: the buyer, the merchant, or the platform desk (the
/// agents' shared queue, [`notice::DESK`]).
fn recipient(c: &Case, to: Party) -> Actor {
    match to {
        Party::Platform => Actor {
            role: ActorRole::Agent as i32,
            id: notice::DESK.into(),
        },
        _ => actor(c, to),
    }
}

/// The span of the clock `c` runs now, if any, under the merchant's policy.
pub fn running_span(settings: &Settings, c: &Case, policy: &Policy) -> Option<Span> {
    c.clock.as_ref().map(|k| {
        let overridden = settings.clock_override(k.kind);
        clocks::span(k.kind, overridden, policy, &settings.platform, c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{fixture::case, kinds::Kind};

    #[test]
    fn one_notification_per_request_step_and_party() {
        let mut c = case(Kind::ReturnRefund);
        c.step = 4;
        let k = notify_key(&c, Party::Buyer, "return_approved");
        assert_eq!(
            k,
            notify_key(&c, Party::Buyer, "return_approved"),
            "replayed"
        );
        assert_ne!(k, notify_key(&c, Party::Merchant, "return_approved"));
        let mut later = c.clone();
        later.step = 5;
        assert_ne!(
            k,
            notify_key(&later, Party::Buyer, "return_approved"),
            "a later step with the same state, clock and template is told again"
        );
        assert_eq!(recipient(&c, Party::Platform).id, notice::DESK);
        assert_eq!(recipient(&c, Party::Buyer).id, "buyer-1");
    }
}
