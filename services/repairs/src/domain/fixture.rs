//! A repair for the unit tests: buyer-1's line at merchant-1, 1,000.00 CNY, within
//! warranty, filed at `at` with its first clocks.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{clocks::Spans, kinds::State, machine, repair::Repair};

pub fn repair(at: DateTime<Utc>) -> Repair {
    let mut r = Repair {
        id: Uuid::nil(),
        number: "WX20260302-000001".into(),
        state: State::Requested,
        order_id: "o-1".into(),
        order_line_id: "l-1".into(),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        category: "phones".into(),
        region: "CN-31".into(),
        line_minor: 100_000,
        currency: "CNY".into(),
        product_model: "X200".into(),
        fault_description: "the screen flickers".into(),
        evidence: Vec::new(),
        buyer_reported_damage: false,
        warranty_until: None,
        within_warranty: true,
        not_free: None,
        payment_ref: "pay-1".into(),
        inspection_fee_minor: 0,
        decline_fee: None,
        spare_unit: false,
        repair_address: None,
        return_address: None,
        decline_reason: String::new(),
        cancel_reason: String::new(),
        item_awaited: 0,
        voucher_check: None,
        diagnosis: None,
        quote: None,
        extension: None,
        progress: Vec::new(),
        inbound: None,
        outbound: None,
        spare: None,
        spare_return: None,
        clocks: Vec::new(),
        clock_seq: 0,
        breaches: Vec::new(),
        repair_due: None,
        overdue_since: None,
        buyer_delays: Vec::new(),
        late_days: 0,
        penalty_minor: 0,
        round: 1,
        repaired: false,
        quality_check_note: String::new(),
        auto_accepted: false,
        first_response: None,
        created: at,
        updated: at,
        closed: None,
        step: 0,
    };
    machine::open(&mut r, at, &Spans::default());
    r
}
