//! A request as the domain's unit tests start from: filed at [`t0`] (a Tuesday in
//! March 2026, Beijing time), reviewed on the 48 h clock, for one unit worth 199.00.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    case::{Case, Clock, Refunds, Shipping},
    clocks::ClockKind,
    kinds::{Kind, Reason, State},
    policy::Payer,
};

/// 2026-03-03 10:00 Beijing time.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-03T10:00:00+08:00")
        .unwrap()
        .to_utc()
}

/// A fresh request of `kind` for a quality defect (the seller pays shipping).
pub fn case(kind: Kind) -> Case {
    Case {
        id: Uuid::nil(),
        kind,
        state: State::Requested,
        order_id: "demo-1".into(),
        order_line_id: "l1".into(),
        quantity: 1,
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        category: "apparel".into(),
        region: "CN-31".into(),
        reason: Reason::QualityDefect,
        description: "torn".into(),
        evidence: Vec::new(),
        exchange_sku: String::new(),
        eligibility_rule: "quality_reasonable_use:quality_defect".into(),
        window_end: None,
        line_amount_minor: 19_900,
        currency: "CNY".into(),
        clock: Some(Clock {
            kind: ClockKind::MerchantReview,
            start: t0(),
            due: None,
            seq: 1,
            escalated: None,
        }),
        clock_seq: 1,
        approval: None,
        rejection: None,
        return_parcel: None,
        inspection: None,
        replacement_parcel: None,
        shipping: Shipping {
            payer: Payer::Seller,
            amount_minor: 0,
            basis: "quality_problem_seller_pays".into(),
            estimate_minor: 1_000,
            carrier_minor: 0,
            packaging_minor: 0,
            damage: None,
            receipt: None,
        },
        refunds: Refunds::default(),
        overdue_since: None,
        late_days: 0,
        penalty_minor: 0,
        dispute: None,
        dispute_origin: None,
        first_response: None,
        created: t0(),
        updated: t0(),
        closed: None,
        refund_problems: Vec::new(),
        step: 0,
        voucher_check: None,
    }
}
