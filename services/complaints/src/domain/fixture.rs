//! A ticket for unit tests: a normal hotline complaint of buyer-1 about demo-1.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    kinds::{Origin, Priority, State::Open},
    ticket::{Contact, Ticket},
};

pub fn ticket(t0: DateTime<Utc>) -> Ticket {
    Ticket {
        id: Uuid::nil(),
        number: "TS20261203-000001".into(),
        state: Open,
        channel: 2,
        priority: Priority::Normal,
        origin: Origin::Buyer,
        subject_case: None,
        order_id: "demo-1".into(),
        order_line_id: "l1".into(),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        category: "apparel".into(),
        region: "CN-31".into(),
        problem: "torn".into(),
        demand: "refund".into(),
        contact: Contact::default(),
        claim_minor: 19_900,
        paid_minor: 19_900,
        currency: "CNY".into(),
        evidence: Vec::new(),
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
        created: t0,
        updated: t0,
        resolved: None,
        closed: None,
        step: 0,
        follow_up: None,
        carrier: "sf".into(),
    }
}
