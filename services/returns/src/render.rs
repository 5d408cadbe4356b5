//! Domain values as the contract's messages: a request as callers see it (with the
//! penalty accrued so far), a merchant's policy as published, an audit row.

use aftersales_proto::aftersales::{
    common::v1::{
        Actor, ActorRole, Address as ProtoAddress, AuditEntry, Clock as ProtoClock, EvidenceRef,
        Money,
    },
    returns::v1::{
        Approval, Inspection, MerchantPolicy, PackagingFee, ParcelInfo, ParcelProblem,
        PlatformPolicy as ProtoPlatformPolicy, RefundOnlyCase, RefundOnlyCondition, RefundProblem,
        RefundSummary, Rejection, Return, ReviewPromise, ShippingFeeAllocation, ShippingPayer,
        VoucherCheck, parcel_problem::Cause,
    },
};
use chrono::{DateTime, Utc};
use kit::time::ts;

use crate::{
    domain::{
        case::{Address, Case, Evidence, Parcel, ParcelCause},
        kinds::State,
        lateness,
        platform_policy::{self, Condition, PlatformPolicy},
        policy::{Payer, Policy},
    },
    names, store,
};

/// Evidence as the contract carries it.
pub fn evidence_out(e: &[Evidence]) -> Vec<EvidenceRef> {
    e.iter()
        .map(|e| EvidenceRef {
            uri: e.uri.clone(),
            kind: e.kind,
            description: e.description.clone(),
            sha256: e.sha256.clone(),
        })
        .collect()
}

fn address_out(a: &Address) -> ProtoAddress {
    ProtoAddress {
        contact_name: a.contact_name.clone(),
        phone: a.phone.clone(),
        country_code: a.country_code.clone(),
        province: a.province.clone(),
        city: a.city.clone(),
        district: a.district.clone(),
        street: a.street.clone(),
        postal_code: a.postal_code.clone(),
    }
}

fn parcel(p: &Parcel) -> ParcelInfo {
    ParcelInfo {
        carrier_code: p.carrier_code.clone(),
        tracking_number: p.tracking_number.clone(),
        shipment: p.shipment.clone().unwrap_or_default(),
        shipped_time: Some(ts(p.shipped_at)),
        delivered_time: p.delivered_at.map(ts),
        promised_delivery_time: p.promised.map(ts),
        carrier_seen_time: p.carrier_seen.map(ts),
        problem: p.problem.as_ref().map(|x| ParcelProblem {
            cause: parcel_cause(x.cause) as i32,
            detail: x.detail.clone(),
            report_time: Some(ts(x.at)),
            outcome: x.outcome.as_str().into(),
        }),
    }
}

/// A lost parcel's cause as the contract names it.
pub fn parcel_cause(c: ParcelCause) -> Cause {
    match c {
        ParcelCause::Exception => Cause::CarrierException,
        ParcelCause::ReturnedToSender => Cause::ReturnedToSender,
        ParcelCause::TransitExpired => Cause::TransitExpired,
    }
}

fn money(minor: i64, currency: &str) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: currency.to_string(),
    })
}

fn waiting_on(c: &Case) -> ActorRole {
    use State::*;
    // a clock that ran out and was escalated waits on the platform desk
    if c.clock.as_ref().is_some_and(|k| k.escalated.is_some()) {
        return ActorRole::Agent;
    }
    match c.state {
        Requested | Inspecting | AwaitingReplacement => ActorRole::Merchant,
        AwaitingReturnShipment | AwaitingBuyerConfirmation | Rejected => ActorRole::Buyer,
        InDispute => ActorRole::Arbitrator,
        _ => ActorRole::Unspecified,
    }
}

/// The contract's view of a request at `now` (the penalty accrues while it is late).
pub fn request(c: &Case, now: DateTime<Utc>) -> Return {
    let (late, penalty) = lateness::accrued(c, now);
    Return {
        name: c.name(),
        kind: c.kind as i32,
        state: c.state as i32,
        order_id: c.order_id.clone(),
        order_line_id: c.order_line_id.clone(),
        quantity: c.quantity,
        buyer_id: c.buyer_id.clone(),
        merchant_id: c.merchant_id.clone(),
        reason: c.reason as i32,
        description: c.description.clone(),
        evidence: evidence_out(&c.evidence),
        exchange_sku: c.exchange_sku.clone(),
        eligibility_rule: c.eligibility_rule.clone(),
        window_end_time: c.window_end.map(ts),
        clock: c.clock.as_ref().map(|k| ProtoClock {
            kind: k.kind.as_str().into(),
            due_time: k.due.map(ts),
            timer: kit::sla::timer_name(&names::timer_id(c, k.seq)),
            waiting_on: waiting_on(c) as i32,
            ..Default::default()
        }),
        approval: c.approval.as_ref().map(|a| Approval {
            return_address: a.return_address.as_ref().map(address_out),
            carrier_options: a.carrier_options.clone(),
            note: a.note.clone(),
            auto_approved: a.auto_approved,
            approve_time: Some(ts(a.at)),
            refund_within_working_days: 7,
        }),
        rejection: c.rejection.as_ref().map(|r| Rejection {
            reason: r.reason.clone(),
            evidence: evidence_out(&r.evidence),
            reject_time: Some(ts(r.at)),
            appeal_deadline: r.appeal_deadline.map(ts),
        }),
        return_parcel: c.return_parcel.as_ref().map(parcel),
        inspection: c.inspection.as_ref().map(|i| Inspection {
            result: if i.passed { 1 } else { 2 },
            note: i.note.clone(),
            evidence: evidence_out(&i.evidence),
            auto_passed: i.auto_passed,
            inspect_time: Some(ts(i.at)),
        }),
        replacement_parcel: c.replacement_parcel.as_ref().map(parcel),
        shipping_fee: Some(ShippingFeeAllocation {
            payer: payer_out(c.shipping.payer) as i32,
            amount: money(c.shipping.amount_minor, &c.currency),
            basis: c.shipping.basis.clone(),
            carrier_cost: money(c.shipping.carrier_minor, &c.currency),
            packaging_fee: money(c.shipping.packaging_minor, &c.currency),
            packaging_damage: c.shipping.damage.map_or(0, |d| d as i32),
            shipping_receipt: c
                .shipping
                .receipt
                .as_ref()
                .and_then(|r| evidence_out(std::slice::from_ref(r)).pop()),
        }),
        refund: Some(RefundSummary {
            goods_amount: money(c.refunds.goods_minor, &c.currency),
            shipping_amount: money(c.refunds.shipping_minor, &c.currency),
            settled_amount: money(c.refunds.settled_minor, &c.currency),
            refunds: c.refunds.names.clone(),
            settle_time: c.refunds.settle_time.map(ts),
        }),
        penalty_accrued: money(penalty, &c.currency),
        late_days: late,
        dispute: c.dispute.clone().unwrap_or_default(),
        create_time: Some(ts(c.created)),
        update_time: Some(ts(c.updated)),
        close_time: c.closed.map(ts),
        refund_problems: c
            .refund_problems
            .iter()
            .map(|p| RefundProblem {
                refund: p.refund.clone(),
                kind: p.kind.as_str().into(),
                reason: p.reason.clone(),
                report_time: Some(ts(p.since)),
                resolve_time: p.until.map(ts),
            })
            .collect(),
        voucher_check: c.voucher_check.as_ref().map(|v| VoucherCheck {
            verified_by: v.verified_by.clone(),
            verify_time: Some(ts(v.at)),
        }),
    }
}

/// The platform policy as an admin wrote it (amounts in CNY).
pub fn platform_policy_out(
    p: &PlatformPolicy,
    updated: Option<DateTime<Utc>>,
) -> ProtoPlatformPolicy {
    let cny = |minor| money(minor, platform_policy::CURRENCY);
    ProtoPlatformPolicy {
        name: names::PLATFORM_POLICY.into(),
        refund_only_cases: p
            .refund_only
            .iter()
            .map(|c| {
                let (condition, bound) = match c.condition {
                    Condition::ShippedNotSignedFor => {
                        (RefundOnlyCondition::ShippedNotSignedFor, None)
                    }
                    Condition::Delivered72hLate => (RefundOnlyCondition::Delivered72hLate, None),
                    Condition::NotShippedByPromise => {
                        (RefundOnlyCondition::NotShippedByPromise, None)
                    }
                    Condition::CancelledBeforeShipment => {
                        (RefundOnlyCondition::CancelledBeforeShipment, None)
                    }
                    Condition::EvidenceWithinReasonableUse => {
                        (RefundOnlyCondition::EvidenceWithinReasonableUse, None)
                    }
                    Condition::EvidenceAndLowValue { max_line_minor } => (
                        RefundOnlyCondition::EvidenceAndLowValue,
                        cny(max_line_minor),
                    ),
                };
                RefundOnlyCase {
                    reason: c.reason as i32,
                    condition: condition as i32,
                    max_line_amount: bound,
                }
            })
            .collect(),
        return_shipping_cap: cny(p.shipping_cap_minor),
        packaging_fees: p
            .packaging_fees
            .iter()
            .map(|(d, fee)| PackagingFee {
                damage: *d as i32,
                fee: cny(*fee),
            })
            .collect(),
        update_time: updated.map(ts),
    }
}

fn payer_out(p: Payer) -> ShippingPayer {
    match p {
        Payer::Seller => ShippingPayer::Seller,
        Payer::Buyer => ShippingPayer::Buyer,
        Payer::ShippingInsurance => ShippingPayer::ShippingInsurance,
    }
}

/// A policy as published (effective values).
pub fn policy_out(merchant: &str, p: &Policy, updated: Option<DateTime<Utc>>) -> MerchantPolicy {
    MerchantPolicy {
        name: names::policy_name(merchant),
        no_reason_window_days: p.no_reason_window_days,
        no_reason_window_days_by_category: p
            .no_reason_window_days_by_category
            .clone()
            .into_iter()
            .collect(),
        review_promise: if p.review_hours == 24 {
            ReviewPromise::Within24h
        } else {
            ReviewPromise::Within48h
        } as i32,
        no_reason_shipping_payer: payer_out(p.no_reason_shipping_payer) as i32,
        special_goods_categories: p.special_goods_categories.clone(),
        exchange_allowed: p.exchange_allowed,
        reject_appeal_window_days: p.reject_appeal_window_days,
        reasonable_use_days: p.reasonable_use_days,
        reasonable_use_days_by_category: p
            .reasonable_use_days_by_category
            .clone()
            .into_iter()
            .collect(),
        repair_warranty_months: p.repair_warranty_months,
        spare_unit_offered: p.spare_unit_offered,
        update_time: updated.map(ts),
        return_address: p.return_address.as_ref().map(address_out),
        carrier_options: p.carrier_options.clone(),
        repair_inspection_fee: (p.repair_inspection_fee_minor > 0).then(|| Money {
            amount_minor: p.repair_inspection_fee_minor,
            currency: p.repair_inspection_fee_currency.clone(),
        }),
    }
}

fn role(r: &str) -> ActorRole {
    match r {
        "buyer" => ActorRole::Buyer,
        "merchant" => ActorRole::Merchant,
        "agent" => ActorRole::Agent,
        "arbitrator" => ActorRole::Arbitrator,
        "admin" => ActorRole::Admin,
        _ => ActorRole::Unspecified,
    }
}

/// An audit row for callers.
pub fn audit(a: &store::AuditEntry) -> AuditEntry {
    let state = |s: i16| {
        State::from_i16(s)
            .map(State::as_str)
            .unwrap_or("")
            .to_string()
    };
    AuditEntry {
        time: Some(ts(a.at)),
        actor: Some(Actor {
            role: role(&a.actor_role) as i32,
            id: a.actor_id.clone(),
        }),
        from_state: a.from_state.map(state).unwrap_or_default(),
        to_state: state(a.to_state),
        action: a.action.clone(),
        reason: a.reason.clone(),
        request_id: a.request_id.clone(),
    }
}
