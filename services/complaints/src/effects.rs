//! What a transition causes elsewhere, as outbox rows in its own transaction: SLA clocks
//! scheduled and cancelled, notifications sent, domain events published, refunds asked
//! for. Every key is deterministic (ticket, purpose, sequence), so a replayed step queues
//! nothing twice and every receiver applies it once.

use aftersales_proto::aftersales::{
    common::v1::{ActorRole, CaseContext, Money},
    complaints::v1::{ComplaintClosed, ComplaintOpened, ComplaintStateChanged, RulingIssued},
    logistics::v1::{RegisterShipmentRequest, ShipmentLeg},
    refunds::v1::{
        CreateRefundRequest, FundingParty, RecordPlatformAdvanceRequest, RecoveryParty, RefundKind,
    },
};
use kit::{
    outbox::{Batch, request_id_for},
    sla,
    time::ts,
};

use crate::{
    domain::{
        clocks::{ClockKind, REMIND_AT},
        kinds::{Liability, Party, RemedyKind},
        machine::{Effect, Event},
        ticket::Ticket,
    },
    names::{DESK, clock_key, timer_id},
    render,
};

const SOURCE: &str = "complaints";
const TOPIC: &str = "complaints";

/// The case facts every event carries.
pub fn context(t: &Ticket) -> Option<CaseContext> {
    Some(CaseContext {
        case_name: t.name(),
        order_id: t.order_id.clone(),
        order_line_id: t.order_line_id.clone(),
        buyer_id: t.buyer_id.clone(),
        merchant_id: t.merchant_id.clone(),
        category: t.category.clone(),
        region: t.region.clone(),
    })
}

/// Writes the outbox rows of `effects` for `t` (as it is after the step that caused them).
pub fn write(out: &mut Batch, t: &Ticket, before: crate::domain::kinds::State, effects: &[Effect]) {
    for e in effects {
        match e {
            Effect::StartClock { seq } => schedule(out, t, *seq),
            Effect::StopClock { seq } => {
                let key = format!("{}:cancel", clock_key(t, *seq));
                sla::cancel(
                    out,
                    &key,
                    &timer_id(t, *seq),
                    format!("{} moved on", t.name()),
                );
            }
            Effect::Notify { to, template } => notify(out, t, *to, template),
            Effect::Publish(event) => publish(out, t, before, event),
            Effect::RequestRefund { remedy } => refund(out, t, remedy),
            Effect::RecordAdvance { remedy } => advance(out, t, remedy),
            Effect::RegisterShipment { remedy } => shipment(out, t, remedy),
        }
    }
}

fn schedule(out: &mut Batch, t: &Ticket, seq: u32) {
    let Some(k) = t.clocks.iter().find(|k| k.seq == seq) else {
        return;
    };
    let Some(due) = k.due else { return };
    let span = (due - k.start).to_std().unwrap_or_default();
    let clock = sla::Clock {
        timer_id: timer_id(t, seq),
        subject: t.name(),
        kind: k.kind.as_str().into(),
        start: k.start,
        span: sla::Span::After(span),
        // the desk's own clocks warn their owner (or the queue) before they breach
        remind_at: matches!(
            k.kind,
            ClockKind::Resolution
                | ClockKind::FirstResponse
                | ClockKind::NextUpdate
                | ClockKind::Closing
        )
        .then_some(REMIND_AT),
        labels: sla::Labels::new(&t.merchant_id, k.kind.party()),
    };
    sla::schedule(out, &clock_key(t, seq), &clock);
}

/// The ticket opened: ComplaintOpened (its first events go with its first clocks).
pub fn opened(out: &mut Batch, t: &Ticket) {
    let ev = ComplaintOpened {
        context: context(t),
        ticket_number: t.number.clone(),
        origin: t.origin as i32,
        subject_case: t.subject_case.clone().unwrap_or_default(),
        channel: t.channel,
        priority: t.priority as i32,
    };
    out.event(SOURCE, TOPIC, &format!("{}:opened", t.name()), &ev);
}

fn publish(out: &mut Batch, t: &Ticket, before: crate::domain::kinds::State, e: &Event) {
    let id = format!("{}:{}:{e:?}", t.name(), t.step);
    match e {
        Event::StateChanged => {
            let ev = ComplaintStateChanged {
                context: context(t),
                from_state: before as i32,
                to_state: t.state as i32,
                action: String::new(),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
        Event::RulingIssued => {
            // only a return's own dispute moves the return: a buyer's complaint that names
            // a case is about it, not its arbitration
            let dispute = t.channel == crate::domain::kinds::SYSTEM_CHANNEL;
            let ev = RulingIssued {
                context: context(t),
                subject_case: t
                    .subject_case
                    .clone()
                    .filter(|_| dispute)
                    .unwrap_or_default(),
                ruling: t.ruling.as_ref().map(|r| render::ruling(t, r)),
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
        Event::Closed => {
            let on_time = !t.breaches.iter().any(|b| b.clock == ClockKind::Resolution);
            let ev = ComplaintClosed {
                context: context(t),
                cause: t.cause.clone(),
                liability: t.ruling.as_ref().map_or(0, |r| r.liability as i32),
                create_time: Some(ts(t.created)),
                first_response_time: t.claimed.map(ts),
                close_time: t.closed.map(ts),
                on_time,
            };
            out.event(SOURCE, TOPIC, &id, &ev);
        }
    }
}

/// Asks refunds to pay remedy `remedy`: GOODS for a refund, GOODWILL for compensation;
/// the platform funds what the platform is liable for, else the merchant.
fn refund(out: &mut Batch, t: &Ticket, remedy: &str) {
    let Some(r) = t.remedies.iter().find(|r| r.id == remedy) else {
        return;
    };
    let key = format!("{}:remedy:{}", t.name(), r.id);
    let kind = match r.kind {
        RemedyKind::Refund => RefundKind::Goods,
        _ => RefundKind::Goodwill,
    };
    // who bears it in the end; for the carrier the platform pays first (the advance
    // recorded once refunds has the refund) and recovers from it
    let funded_by = match r.borne_by {
        Some(Liability::Platform) => FundingParty::Platform,
        Some(Liability::Carrier) => FundingParty::Carrier,
        _ => FundingParty::Merchant,
    };
    let req = CreateRefundRequest {
        kind: kind as i32,
        source_case: t.name(),
        order_id: t.order_id.clone(),
        order_line_id: t.order_line_id.clone(),
        amount: Some(Money {
            amount_minor: r.amount_minor,
            currency: t.currency.clone(),
        }),
        reason: format!("complaint {} remedy {}", t.number, r.id),
        funded_by: funded_by as i32,
        request_id: request_id_for(&key),
    };
    out.command(
        "refunds",
        "/aftersales.refunds.v1.RefundsService/CreateRefund",
        &key,
        &req,
    );
}

/// Registers reship `remedy`'s parcel with logistics as the ticket's replacement leg, so
/// its delivery (or loss) comes back on the `logistics` stream under the ticket's name.
fn shipment(out: &mut Batch, t: &Ticket, remedy: &str) {
    let Some(r) = t.remedies.iter().find(|r| r.id == remedy) else {
        return;
    };
    let Some((carrier, tracking)) = r.reference.split_once('/') else {
        return;
    };
    // per parcel: a reship whose parcel was sent back goes again under a new number
    let key = format!("{}:reship:{}:{}", t.name(), r.id, r.reference);
    let req = RegisterShipmentRequest {
        case_name: t.name(),
        leg: ShipmentLeg::Replacement as i32,
        carrier_code: carrier.into(),
        tracking_number: tracking.into(),
        request_id: request_id_for(&key),
        // so the buyer and the merchant can follow the parcel themselves
        buyer_id: t.buyer_id.clone(),
        merchant_id: t.merchant_id.clone(),
        ..Default::default()
    };
    out.command(
        "logistics",
        "/aftersales.logistics.v1.LogisticsService/RegisterShipment",
        &key,
        &req,
    );
}

/// Records the platform's advance on remedy `remedy`'s refund, owed by whoever bears it:
/// the original delivery's carrier, or the merchant's after-sales deposit.
fn advance(out: &mut Batch, t: &Ticket, remedy: &str) {
    let Some(r) = t.remedies.iter().find(|r| r.id == remedy) else {
        return;
    };
    let key = format!("{}:remedy:{}:advance", t.name(), r.id);
    let (from, debtor, why) = match r.borne_by {
        Some(Liability::Carrier) => (
            RecoveryParty::Carrier,
            t.carrier.clone(),
            "loss in transit, the carrier is liable",
        ),
        _ => (
            RecoveryParty::MerchantDeposit,
            t.merchant_id.clone(),
            "the platform paid first, the merchant is liable",
        ),
    };
    let req = RecordPlatformAdvanceRequest {
        name: r.reference.clone(),
        recover_from: from as i32,
        debtor_id: debtor,
        reason: format!("complaint {}: {why}", t.number),
        request_id: request_id_for(&key),
    };
    out.command(
        "refunds",
        "/aftersales.refunds.v1.RefundsService/RecordPlatformAdvance",
        &key,
        &req,
    );
}

/// Tells `to` with `template`, once per (ticket, step, party).
pub fn notify(out: &mut Batch, t: &Ticket, to: Party, template: &str) {
    let key = format!("{}:notify:{}:{template}:{to:?}", t.name(), t.step);
    let mut params = vec![
        ("complaint".to_string(), t.name()),
        ("ticket_number".to_string(), t.number.clone()),
        ("state".to_string(), t.state.as_str().to_string()),
    ];
    if let Some(k) = t
        .clocks
        .iter()
        .filter(|k| k.due.is_some())
        .min_by_key(|k| k.due)
    {
        params.push(("clock".into(), k.kind.as_str().into()));
        params.push((
            "due_time".into(),
            k.due.map(|d| d.to_rfc3339()).unwrap_or_default(),
        ));
    }
    let to = recipient(t, to);
    out.notify(&key, (to.0, &to.1), template, params);
}

fn recipient(t: &Ticket, to: Party) -> (ActorRole, String) {
    let (role, id) = match to {
        Party::Buyer => (ActorRole::Buyer, t.buyer_id.clone()),
        Party::Merchant => (ActorRole::Merchant, t.merchant_id.clone()),
        Party::Owner | Party::Agent => (
            ActorRole::Agent,
            t.owner.clone().unwrap_or_else(|| DESK.into()),
        ),
        Party::Desk => (ActorRole::Agent, DESK.into()),
    };
    (role, id)
}
