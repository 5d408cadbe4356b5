//! Stored refunds, totals and penalties rendered as the contract's messages.

use aftersales_proto::aftersales::{
    common::v1::{AuditEntry, Clock, Money},
    refunds::v1::{ComputeLatePenaltyResponse, PlatformAdvance, Refund, RefundTotal},
};
use kit::{
    audit,
    auth::{Principal, Role},
    sla::timer_name,
    time::ts,
};
use rules::penalty::{Penalty, RATE_BP_PER_DAY};

use crate::{
    domain::{
        clocks::SETTLEMENT_KIND,
        payout::{GATEWAY_ACTOR, error_code},
        refund::{State, payout_id},
    },
    effects::settlement_timer,
    store::{AuditRow, RefundRow, Total},
};

fn money(minor: i64, currency: &str) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: currency.to_string(),
    })
}

/// The contract's view of a stored refund.
pub fn refund(r: &RefundRow) -> Refund {
    let open = !matches!(r.state(), State::Settled);
    let retrying = r.failures > 0 && r.next_attempt_at.is_some();
    Refund {
        name: r.name(),
        kind: r.kind as i32,
        state: r.state as i32,
        source_case: r.source_case.clone(),
        order_id: r.order_id.clone(),
        order_line_id: r.order_line_id.clone(),
        buyer_id: r.buyer_id.clone(),
        merchant_id: r.merchant_id.clone(),
        amount: money(r.amount_minor, &r.currency),
        reason: r.reason.clone(),
        funded_by: r.funded_by as i32,
        payout_id: payout_id(&r.id, r.payout_seq),
        original_payment_ref: r.payment_ref.clone(),
        attempts: r.attempts.max(0) as u32,
        last_error: r.last_error.clone(),
        next_attempt_time: if retrying {
            r.next_attempt_at.map(ts)
        } else {
            None
        },
        clock: open.then(|| Clock {
            kind: SETTLEMENT_KIND.into(),
            due_time: r.settle_due.map(ts),
            timer: timer_name(&settlement_timer(r)),
            ..Default::default()
        }),
        advance: r.advance_time.map(|at| PlatformAdvance {
            recover_from: r.advance_from.unwrap_or_default() as i32,
            debtor_id: r.advance_debtor.clone().unwrap_or_default(),
            reason: r.advance_reason.clone().unwrap_or_default(),
            amount: money(r.amount_minor, &r.currency),
            recovered: money(r.recovered_minor, &r.currency),
            advance_time: Some(ts(at)),
            recovered_time: r.recovered_time.map(ts),
        }),
        create_time: Some(ts(r.create_time)),
        submit_time: r.submit_time.map(ts),
        settle_time: r.settle_time.map(ts),
        update_time: Some(ts(r.update_time)),
    }
}

/// A refund as `who` may read it (PIPL, minimum necessary): a merchant gets neither the
/// buyer's payment reference nor the gateway's text about that payment, only its error
/// code; the buyer, staff and the case owner services read it whole.
pub fn refund_for(who: &Principal, r: &RefundRow) -> Refund {
    let mut out = refund(r);
    if who.role == Role::Merchant {
        out.original_payment_ref.clear();
        out.last_error = error_code(&out.last_error).to_string();
    }
    out
}

/// An audit row as `who` may read it: the reason of a move the gateway's answer caused
/// is the gateway's error, which a merchant reads as its code only.
pub fn audit_for(who: &Principal, a: &AuditRow) -> AuditEntry {
    let state = |s: i16| State::from_i16(s).map_or("", State::as_str);
    let reason = if who.role == Role::Merchant && a.actor_id == GATEWAY_ACTOR {
        error_code(&a.reason)
    } else {
        &a.reason
    };
    audit::entry(audit::Row {
        at: a.at,
        actor: (&a.actor_role, &a.actor_id),
        from_state: a.from_state.map(state),
        to_state: state(a.to_state),
        action: &a.action,
        reason,
        request_id: &a.request_id,
    })
}

/// One line of a list's totals: a kind in a currency, requested and settled.
pub fn total(t: Total) -> RefundTotal {
    let (kind, currency, count, requested, settled) = t;
    RefundTotal {
        kind: kind as i32,
        count: count as u32,
        requested: money(requested, &currency),
        settled: money(settled, &currency),
    }
}

/// A late penalty on a line paid in `currency`.
pub fn late_penalty(p: Penalty, currency: String) -> ComputeLatePenaltyResponse {
    ComputeLatePenaltyResponse {
        penalty: money(p.minor, &currency),
        chargeable_days: p.chargeable_days,
        rate_bp_per_day: RATE_BP_PER_DAY,
    }
}
