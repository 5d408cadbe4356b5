//! UpdatePlatformPolicy as the domain's `PlatformPolicy`: every bad field named.

use aftersales_proto::aftersales::{
    common::v1::Money,
    returns::v1::{
        PackagingDamage as ProtoDamage, RefundOnlyCondition, UpdatePlatformPolicyRequest,
    },
};
use kit::{error::Violations, validate};

use crate::{
    domain::{
        kinds::Reason,
        platform_policy::{self, Condition, PackagingDamage, PlatformPolicy, RefundOnlyCase},
    },
    names,
};

/// An amount of the platform policy: present, not negative, in CNY.
fn cny(v: &mut Violations, field: &str, m: Option<&Money>) -> i64 {
    match m {
        None => {
            v.add(field, "is required");
            0
        }
        Some(m) if m.currency != platform_policy::CURRENCY => {
            v.add(format!("{field}.currency"), "must be CNY");
            0
        }
        Some(m) => m.amount_minor,
    }
}

/// UpdatePlatformPolicy: the whole policy, every bad field named.
pub fn platform_policy(r: &UpdatePlatformPolicyRequest) -> kit::Result<PlatformPolicy> {
    let mut v = Violations::new();
    validate::request_id(&mut v, &r.request_id);
    let Some(p) = r.policy.as_ref() else {
        v.add("policy", "is required");
        return Err(v.finish().unwrap_err());
    };
    if p.name != names::PLATFORM_POLICY {
        v.add("policy.name", format!("must be {}", names::PLATFORM_POLICY));
    }
    let mut refund_only = Vec::new();
    for (i, c) in p.refund_only_cases.iter().enumerate() {
        let field = format!("policy.refund_only_cases[{i}]");
        let reason = Reason::from_i32(c.reason);
        if reason.is_none() {
            v.add(format!("{field}.reason"), "unknown reason");
        }
        let condition = match RefundOnlyCondition::try_from(c.condition) {
            Ok(RefundOnlyCondition::ShippedNotSignedFor) => Some(Condition::ShippedNotSignedFor),
            Ok(RefundOnlyCondition::Delivered72hLate) => Some(Condition::Delivered72hLate),
            Ok(RefundOnlyCondition::NotShippedByPromise) => Some(Condition::NotShippedByPromise),
            Ok(RefundOnlyCondition::CancelledBeforeShipment) => {
                Some(Condition::CancelledBeforeShipment)
            }
            Ok(RefundOnlyCondition::EvidenceWithinReasonableUse) => {
                Some(Condition::EvidenceWithinReasonableUse)
            }
            Ok(RefundOnlyCondition::EvidenceAndLowValue) => Some(Condition::EvidenceAndLowValue {
                max_line_minor: cny(
                    &mut v,
                    &format!("{field}.max_line_amount"),
                    c.max_line_amount.as_ref(),
                ),
            }),
            _ => {
                v.add(format!("{field}.condition"), "is required");
                None
            }
        };
        if let (Some(reason), Some(condition)) = (reason, condition) {
            refund_only.push(RefundOnlyCase { reason, condition });
        }
    }
    let shipping_cap_minor = cny(
        &mut v,
        "policy.return_shipping_cap",
        p.return_shipping_cap.as_ref(),
    );
    let mut packaging_fees = Vec::new();
    for (i, f) in p.packaging_fees.iter().enumerate() {
        let field = format!("policy.packaging_fees[{i}]");
        let fee = cny(&mut v, &format!("{field}.fee"), f.fee.as_ref());
        match ProtoDamage::try_from(f.damage)
            .ok()
            .and_then(|d| PackagingDamage::from_i32(d as i32))
        {
            Some(d) => packaging_fees.push((d, fee)),
            None => v.add(format!("{field}.damage"), "is required"),
        }
    }
    let policy = PlatformPolicy {
        refund_only,
        shipping_cap_minor,
        packaging_fees,
    };
    // the domain's own rules, once every field parsed (indexes match the request's when
    // nothing above was dropped; a dropped case was already reported)
    if v.is_empty() {
        for bad in policy.check() {
            v.add(bad.field, bad.why);
        }
    }
    v.finish()?;
    Ok(policy)
}
