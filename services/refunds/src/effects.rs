//! What a refund's changes cause elsewhere, written as outbox rows in the change's own
//! transaction (DESIGN §1): domain events, the settlement clock on the SLA service and
//! notifications to the buyer. Every command key is deterministic, so a replayed change
//! queues nothing twice and the receiver applies it once.

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole, Money},
    platform::v1::SendRequest,
    refunds::v1::{
        PlatformAdvanceRecorded, RecoveryParty, RefundEscalated, RefundFailed, RefundRequested,
        RefundSettled,
    },
    sla::v1::{CancelTimerRequest, ScheduleTimerRequest, Trigger, WorkingDays, trigger::Spec},
};
use kit::{
    outbox::{publish_event, request_id_for, send_command},
    time::ts,
};
use sqlx::PgConnection;

use crate::{
    domain::refund::Kind,
    settings::{Clock, Settings},
    store::RefundRow,
};

const SOURCE: &str = "refunds";
const TOPIC: &str = "refunds";
const SCHEDULE: &str = "/aftersales.sla.v1.SlaService/ScheduleTimer";
const CANCEL: &str = "/aftersales.sla.v1.SlaService/CancelTimer";
const SEND: &str = "/aftersales.platform.v1.Notifier/Send";
/// The SLA timer kind of the settlement clock.
pub const SETTLEMENT_KIND: &str = "refund_settlement";

/// The settlement timer's id (a UUIDv5 of the refund): known before the SLA service
/// answers, so cancelling it needs no stored reply.
pub fn settlement_timer(r: &RefundRow) -> String {
    request_id_for(&format!("{}:settlement-timer", r.name()))
}

fn money(r: &RefundRow) -> Option<Money> {
    Some(Money {
        amount_minor: r.amount_minor,
        currency: r.currency.clone(),
    })
}

fn kind(r: &RefundRow) -> i32 {
    r.kind as i32
}

async fn notify(tx: &mut PgConnection, r: &RefundRow, template: &str) -> Result<(), sqlx::Error> {
    let key = format!("{}:notify:{template}:{}", r.name(), r.payout_seq);
    let req = SendRequest {
        notification_id: request_id_for(&key),
        recipient: Some(Actor {
            role: ActorRole::Buyer as i32,
            id: r.buyer_id.clone(),
        }),
        template: template.into(),
        params: [
            ("refund".to_string(), r.name()),
            ("amount_minor".to_string(), r.amount_minor.to_string()),
            ("currency".to_string(), r.currency.clone()),
            ("source_case".to_string(), r.source_case.clone()),
        ]
        .into(),
        ..Default::default()
    };
    send_command(tx, "platform", SEND, &key, &req).await?;
    Ok(())
}

/// A refund was recorded: RefundRequested, the settlement clock, the buyer told.
pub async fn requested(
    tx: &mut PgConnection,
    r: &RefundRow,
    settings: &Settings,
) -> Result<(), sqlx::Error> {
    let event = RefundRequested {
        refund: r.name(),
        source_case: r.source_case.clone(),
        kind: kind(r),
        amount: money(r),
        merchant_id: r.merchant_id.clone(),
    };
    publish_event(tx, SOURCE, TOPIC, &r.name(), &event).await?;

    let clock = if r.kind() == Kind::ShippingInsurance {
        &settings.insurance_settlement
    } else {
        &settings.settlement
    };
    let spec = match clock {
        Clock::WorkingDays { days, calendar } => Spec::WorkingDays(WorkingDays {
            days: *days,
            calendar: calendar.clone(),
        }),
        Clock::After(d) => Spec::After(prost_types::Duration {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }),
    };
    let key = format!("{}:settlement-clock", r.name());
    let schedule = ScheduleTimerRequest {
        timer_id: settlement_timer(r),
        subject: r.name(),
        kind: SETTLEMENT_KIND.into(),
        trigger: Some(Trigger {
            spec: Some(spec),
            // the fact's time, so a redelivered command computes the same deadline
            start_time: Some(ts(r.create_time)),
        }),
        request_id: request_id_for(&key),
        ..Default::default()
    };
    send_command(tx, "sla", SCHEDULE, &key, &schedule).await?;
    notify(tx, r, "refund_requested").await
}

/// The money reached the buyer: RefundSettled, the clock stopped, the buyer told.
pub async fn settled(tx: &mut PgConnection, r: &RefundRow) -> Result<(), sqlx::Error> {
    let event = RefundSettled {
        refund: r.name(),
        source_case: r.source_case.clone(),
        kind: kind(r),
        amount: money(r),
        merchant_id: r.merchant_id.clone(),
        settle_time: r.settle_time.map(ts),
    };
    publish_event(tx, SOURCE, TOPIC, &r.name(), &event).await?;
    let key = format!("{}:settlement-clock:cancel", r.name());
    let cancel = CancelTimerRequest {
        name: format!("timers/{}", settlement_timer(r)),
        reason: "refund settled".into(),
        request_id: request_id_for(&key),
    };
    send_command(tx, "sla", CANCEL, &key, &cancel).await?;
    notify(tx, r, "refund_settled").await
}

/// The gateway declined: RefundFailed, the buyer told.
pub async fn failed(tx: &mut PgConnection, r: &RefundRow, error: &str) -> Result<(), sqlx::Error> {
    let event = RefundFailed {
        refund: r.name(),
        source_case: r.source_case.clone(),
        error: error.into(),
    };
    publish_event(tx, SOURCE, TOPIC, &r.name(), &event).await?;
    notify(tx, r, "refund_failed").await
}

/// An agent must look: RefundEscalated.
pub async fn escalated(
    tx: &mut PgConnection,
    r: &RefundRow,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let event = RefundEscalated {
        refund: r.name(),
        source_case: r.source_case.clone(),
        reason: reason.into(),
    };
    publish_event(tx, SOURCE, TOPIC, &r.name(), &event).await?;
    Ok(())
}

/// The platform paid first: PlatformAdvanceRecorded.
pub async fn advanced(tx: &mut PgConnection, r: &RefundRow) -> Result<(), sqlx::Error> {
    let event = PlatformAdvanceRecorded {
        refund: r.name(),
        recover_from: r
            .advance_from
            .map_or(RecoveryParty::Unspecified as i32, |v| v as i32),
        debtor_id: r.advance_debtor.clone().unwrap_or_default(),
        amount: money(r),
    };
    publish_event(tx, SOURCE, TOPIC, &r.name(), &event).await?;
    Ok(())
}
