//! Opening a ticket, for both doors it comes through: a call (a buyer, or an agent
//! taking a hotline or social complaint) and a dispute from returns (an event). The
//! order's facts (buyer, merchant, amount, regions) come from the order directory or the
//! dispute's own case facts, never from the caller; the number, the first clocks, the
//! expert group when the rule says so, the audit row and the outbox rows are written in
//! one statement (with the call's idempotency claim).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        clocks::ClockKind,
        escalation::{self, EXPERT_GROUP},
        kinds::{Origin, Party, Priority, State},
        machine::{self, Effect},
        number,
        ticket::{Contact, Escalation, Submission, Ticket},
    },
    effects,
    settings::Settings,
    store::{self, WriteError},
};
use kit::{idempotency::Answered, outbox::Batch};

/// What a new ticket is made of.
pub struct Intake {
    pub channel: i32,
    pub priority: Priority,
    pub origin: Origin,
    pub subject_case: Option<String>,
    pub order_id: String,
    pub order_line_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    pub merchant_region: String,
    pub problem: String,
    pub demand: String,
    pub contact: Contact,
    pub claim_minor: i64,
    /// What the line cost: the amount at stake for escalation and the bound of remedies.
    pub paid_minor: i64,
    pub currency: String,
    pub first_evidence: Option<Submission>,
    /// The original delivery's carrier.
    pub carrier: String,
    /// The platform's own records (`records::attach`).
    pub platform_records: Submission,
}

/// A new ticket and its first outbox rows (the opened event, its clocks, its
/// notifications), not yet written; the ticket number is taken from the sequence.
pub async fn prepare(
    conn: &mut PgConnection,
    settings: &Settings,
    i: Intake,
    now: DateTime<Utc>,
) -> Result<(Ticket, Batch), sqlx::Error> {
    let seq = store::next_number(conn).await?;
    let mut t = Ticket {
        id: Uuid::now_v7(),
        number: number::format(now, seq),
        state: State::Open,
        channel: i.channel,
        priority: i.priority,
        origin: i.origin,
        subject_case: i.subject_case,
        order_id: i.order_id,
        order_line_id: i.order_line_id,
        buyer_id: i.buyer_id,
        merchant_id: i.merchant_id,
        category: i.category,
        region: i.region.clone(),
        problem: i.problem,
        demand: i.demand,
        contact: i.contact,
        claim_minor: i.claim_minor,
        paid_minor: i.paid_minor,
        currency: i.currency.clone(),
        evidence: std::iter::once(i.platform_records)
            .chain(i.first_evidence)
            .collect(),
        owner: None,
        claimed: None,
        evidence_request: None,
        proposal: None,
        ruling: None,
        remedies: Vec::new(),
        escalation: None,
        clocks: Vec::new(),
        clock_seq: 0,
        breaches: Vec::new(),
        facts: Vec::new(),
        cause: String::new(),
        close_summary: String::new(),
        created: now,
        updated: now,
        resolved: None,
        closed: None,
        step: 0,
        follow_up: None,
        carrier: i.carrier,
    };
    let mut fx = machine::open(&mut t, now, &settings.spans);
    if let Some(reason) = escalation::automatic(
        i.paid_minor.max(t.claim_minor),
        &i.currency,
        &i.region,
        &i.merchant_region,
        settings.expert_threshold,
    ) {
        t.escalation = Some(Escalation {
            group: EXPERT_GROUP.into(),
            reason: reason.into(),
            automatic: true,
            at: now,
        });
        // the expert group's queue hears of it at once
        fx.push(Effect::Notify {
            to: Party::Desk,
            template: "complaint_escalated",
        });
    }
    debug_assert!(t.clock(ClockKind::Resolution).is_some());
    let mut out = Batch::default();
    effects::opened(&mut out, &t);
    effects::write(&mut out, &t, State::Open, &fx);
    Ok((t, out))
}

/// Writes a prepared ticket with its audit row (`actor`'s) and outbox rows in one
/// statement, conditional on `claim` when there is one: false for a duplicate.
pub async fn write(
    conn: &mut PgConnection,
    t: &Ticket,
    out: Batch,
    actor: (&str, &str),
    request_id: &str,
    claim: Option<Answered<'_>>,
) -> Result<bool, WriteError> {
    let audit = kit::audit::Write {
        actor,
        from_state: None,
        to_state: t.state as i16,
        action: "create",
        reason: t.escalation.as_ref().map_or("", |e| e.reason.as_str()),
        request_id,
    };
    store::create(conn, t, &audit, claim, out).await
}
