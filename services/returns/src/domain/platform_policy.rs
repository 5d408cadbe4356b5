//! The platform's returns policy (SPEC §3): which refund-only cases exist and what each
//! needs, the cap of a reimbursed return shipping and the packaging fees by damage
//! degree (seed 001 §6.1.2). Data an admin changes, not code; these are its defaults.

use serde::{Deserialize, Serialize};

use super::kinds::{Family, Reason};

/// What a refund-only case needs to hold (checked by `eligibility`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    ShippedNotSignedFor,
    Delivered72hLate,
    NotShippedByPromise,
    CancelledBeforeShipment,
    EvidenceWithinReasonableUse,
    /// Evidence, reasonable use, and the line's paid amount at most this (CNY minor).
    EvidenceAndLowValue {
        max_line_minor: i64,
    },
}

/// One case of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOnlyCase {
    pub reason: Reason,
    pub condition: Condition,
}

/// How damaged the original packaging is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PackagingDamage {
    None = 1,
    Minor = 2,
    Major = 3,
    Destroyed = 4,
}

impl PackagingDamage {
    pub const ALL: [Self; 4] = [Self::None, Self::Minor, Self::Major, Self::Destroyed];

    pub fn from_i32(v: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|d| *d as i32 == v)
    }
}

/// The platform policy; amounts in CNY minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformPolicy {
    pub refund_only: Vec<RefundOnlyCase>,
    /// The most a declared carrier cost is reimbursed.
    pub shipping_cap_minor: i64,
    /// (degree, fee); a degree not listed costs nothing.
    pub packaging_fees: Vec<(PackagingDamage, i64)>,
}

/// The currency of the policy's amounts: the platform settles in CNY.
pub const CURRENCY: &str = "CNY";

impl Default for PlatformPolicy {
    /// SPEC §3's list; CNY 50 as "low value", CNY 30 as the shipping cap (a domestic
    /// parcel), packaging from nothing (intact) to CNY 15 (new packaging throughout).
    fn default() -> Self {
        use Condition::*;
        use Reason::*;
        let case = |reason, condition| RefundOnlyCase { reason, condition };
        Self {
            refund_only: vec![
                case(NotReceived, ShippedNotSignedFor),
                case(DeliveryLate72h, Delivered72hLate),
                case(NotShippedInTime, NotShippedByPromise),
                case(SeverelyNotAsDescribed, EvidenceWithinReasonableUse),
                case(MissingParts, EvidenceWithinReasonableUse),
                case(Counterfeit, EvidenceWithinReasonableUse),
                case(
                    ReceivedBrokenLowValue,
                    EvidenceAndLowValue {
                        max_line_minor: 5_000,
                    },
                ),
                case(
                    Reason::CancelledBeforeShipment,
                    Condition::CancelledBeforeShipment,
                ),
            ],
            shipping_cap_minor: 3_000,
            packaging_fees: vec![
                (PackagingDamage::None, 0),
                (PackagingDamage::Minor, 300),
                (PackagingDamage::Major, 800),
                (PackagingDamage::Destroyed, 1_500),
            ],
        }
    }
}

/// A policy that cannot be applied: the field and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub why: String,
}

impl PlatformPolicy {
    /// The case admitting `reason`, if listed.
    pub fn refund_only_case(&self, reason: Reason) -> Option<&RefundOnlyCase> {
        self.refund_only.iter().find(|c| c.reason == reason)
    }

    /// The packaging fee for `damage` (nothing when not stated or not listed).
    pub fn packaging_fee(&self, damage: Option<PackagingDamage>) -> i64 {
        damage
            .and_then(|d| self.packaging_fees.iter().find(|(k, _)| *k == d))
            .map_or(0, |(_, fee)| *fee)
    }

    /// Every violation: a reason twice or not a refund-only one, a low-value bound not
    /// positive, a negative amount, a degree twice.
    pub fn check(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        let mut bad = |field: String, why: &str| {
            out.push(Invalid {
                field,
                why: why.into(),
            })
        };
        for (i, c) in self.refund_only.iter().enumerate() {
            let field = format!("policy.refund_only_cases[{i}]");
            if c.reason.family() != Family::RefundOnly {
                bad(format!("{field}.reason"), "must be a refund-only reason");
            }
            if self.refund_only[..i].iter().any(|o| o.reason == c.reason) {
                bad(format!("{field}.reason"), "is listed twice");
            }
            if let Condition::EvidenceAndLowValue { max_line_minor } = c.condition
                && max_line_minor <= 0
            {
                bad(format!("{field}.max_line_amount"), "must be positive");
            }
        }
        if self.shipping_cap_minor < 0 {
            bad("policy.return_shipping_cap".into(), "must not be negative");
        }
        for (i, (d, fee)) in self.packaging_fees.iter().enumerate() {
            let field = format!("policy.packaging_fees[{i}]");
            if *fee < 0 {
                bad(format!("{field}.fee"), "must not be negative");
            }
            if self.packaging_fees[..i].iter().any(|(o, _)| o == d) {
                bad(format!("{field}.damage"), "is listed twice");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_list_every_refund_only_reason_of_the_spec_once() {
        let p = PlatformPolicy::default();
        assert!(p.check().is_empty());
        for r in 8..=15 {
            let reason = Reason::from_i32(r).unwrap();
            assert!(p.refund_only_case(reason).is_some(), "{reason:?}");
        }
        assert_eq!(
            p.refund_only_case(Reason::ReceivedBrokenLowValue)
                .unwrap()
                .condition,
            Condition::EvidenceAndLowValue {
                max_line_minor: 5_000
            }
        );
        assert_eq!(p.packaging_fee(Some(PackagingDamage::Major)), 800);
        assert_eq!(p.packaging_fee(None), 0);
    }

    #[test]
    fn a_policy_with_a_foreign_reason_a_duplicate_or_a_bad_amount_is_refused() {
        let mut p = PlatformPolicy::default();
        p.refund_only.push(RefundOnlyCase {
            reason: Reason::NoReason,
            condition: Condition::EvidenceWithinReasonableUse,
        });
        p.refund_only.push(RefundOnlyCase {
            reason: Reason::NotReceived,
            condition: Condition::EvidenceAndLowValue { max_line_minor: 0 },
        });
        p.shipping_cap_minor = -1;
        p.packaging_fees.push((PackagingDamage::Minor, -5));
        let fields: Vec<String> = p.check().into_iter().map(|i| i.field).collect();
        assert_eq!(
            fields,
            [
                "policy.refund_only_cases[8].reason",
                "policy.refund_only_cases[9].reason",
                "policy.refund_only_cases[9].max_line_amount",
                "policy.return_shipping_cap",
                "policy.packaging_fees[4].fee",
                "policy.packaging_fees[4].damage",
            ]
        );
    }
}
