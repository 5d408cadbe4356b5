//! What a refund's changes cause elsewhere, written as outbox rows in the change's own
//! transaction (DESIGN §1): domain events, the settlement clock on the SLA service and
//! notifications to the buyer. Every command key is deterministic, so a replayed change
//! queues nothing twice and the receiver applies it once.

use aftersales_proto::aftersales::{
    common::v1::{ActorRole, Money},
    refunds::v1::{
        PlatformAdvanceRecorded, RecoveryParty, RefundEscalated, RefundFailed, RefundRequested,
        RefundSettled,
    },
};
use kit::{
    outbox::{Batch, publish_event},
    sla,
    time::ts,
};
use sqlx::PgConnection;

use crate::{
    domain::clocks::{self, SETTLEMENT_KIND},
    settings::Settings,
    store::RefundRow,
};

const SOURCE: &str = "refunds";
const TOPIC: &str = "refunds";

/// The settlement timer's id (a UUIDv5 of the refund): known before the SLA service
/// answers, so cancelling it needs no stored reply.
pub fn settlement_timer(r: &RefundRow) -> String {
    sla::timer_id(&format!("{}:settlement-timer", r.name()))
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

fn notify(out: &mut Batch, r: &RefundRow, template: &str) {
    let key = format!("{}:notify:{template}:{}", r.name(), r.payout_seq);
    let params = [
        ("refund".to_string(), r.name()),
        ("amount_minor".to_string(), r.amount_minor.to_string()),
        ("currency".to_string(), r.currency.clone()),
        ("source_case".to_string(), r.source_case.clone()),
    ];
    out.notify(&key, (ActorRole::Buyer, &r.buyer_id), template, params);
}

/// A refund was recorded: RefundRequested, the settlement clock, the buyer told.
pub async fn requested(
    tx: &mut PgConnection,
    r: &RefundRow,
    request_id: &str,
    settings: &Settings,
) -> Result<(), sqlx::Error> {
    let event = RefundRequested {
        refund: r.name(),
        source_case: r.source_case.clone(),
        kind: kind(r),
        amount: money(r),
        merchant_id: r.merchant_id.clone(),
        request_id: request_id.into(),
    };
    let mut out = Batch::default();
    out.event(SOURCE, TOPIC, &r.name(), &event);
    let span = clocks::settlement(
        r.kind(),
        &settings.settlement,
        &settings.insurance_settlement,
    );
    let clock = sla::Clock {
        timer_id: settlement_timer(r),
        subject: r.name(),
        kind: SETTLEMENT_KIND.into(),
        // the fact's time, so a redelivered command computes the same deadline
        start: r.create_time,
        span: span.clone(),
        remind_at: None,
        // the settlement is the platform's to make
        labels: sla::Labels::new(&r.merchant_id, sla::party::PLATFORM),
    };
    sla::schedule(&mut out, &format!("{}:settlement-clock", r.name()), &clock);
    notify(&mut out, r, "refund_requested");
    out.flush(tx).await
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
    let mut out = Batch::default();
    out.event(SOURCE, TOPIC, &r.name(), &event);
    let key = format!("{}:settlement-clock:cancel", r.name());
    sla::cancel(&mut out, &key, &settlement_timer(r), "refund settled");
    notify(&mut out, r, "refund_settled");
    out.flush(tx).await
}

/// The gateway declined: RefundFailed, the buyer told.
pub async fn failed(tx: &mut PgConnection, r: &RefundRow, error: &str) -> Result<(), sqlx::Error> {
    let event = RefundFailed {
        refund: r.name(),
        source_case: r.source_case.clone(),
        error: error.into(),
        kind: kind(r),
    };
    let mut out = Batch::default();
    out.event(SOURCE, TOPIC, &r.name(), &event);
    notify(&mut out, r, "refund_failed");
    out.flush(tx).await
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
        kind: kind(r),
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
