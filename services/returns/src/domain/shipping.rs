//! Who pays the return shipping and how much (SPEC §3, seed 001 §6.1).

use super::{
    case::{Evidence, Shipping},
    kinds::{Family, Reason},
    platform_policy::PackagingDamage,
    policy::{Payer, Policy},
};

/// Who pays the return shipping: the seller for quality problems and refund-only; for
/// no-reason returns the policy says, and a buyer with shipping insurance has it pay.
/// `cap` is the platform policy's cap of a declared carrier cost: not the order's own
/// shipping fee, so a free-shipping order still gets its return shipping back.
pub fn allocate(reason: Reason, policy: &Policy, insured: bool, cap: i64) -> Shipping {
    let (payer, basis) = match reason.family() {
        Family::Quality | Family::RefundOnly => (Payer::Seller, "quality_problem_seller_pays"),
        Family::NoReason => match policy.no_reason_shipping_payer {
            Payer::Seller => (Payer::Seller, "merchant_policy_seller_pays"),
            _ if insured => (Payer::ShippingInsurance, "no_reason_shipping_insurance"),
            _ => (Payer::Buyer, "no_reason_buyer_pays"),
        },
    };
    Shipping {
        payer,
        amount_minor: 0,
        basis: basis.into(),
        estimate_minor: cap,
        carrier_minor: 0,
        packaging_minor: 0,
        damage: None,
        receipt: None,
    }
}

/// What the buyer paid to send the goods back, as declared with the shipment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outlay {
    /// The carrier's charge.
    pub cost_minor: Option<i64>,
    pub receipt: Option<Evidence>,
    pub damage: Option<PackagingDamage>,
    /// The packaging fee the platform policy estimates for `damage`.
    pub packaging_fee_minor: i64,
}

/// Fixes what is reimbursed of `outlay`: nothing when the buyer pays; else the actual
/// carrier cost up to the cap, plus, when the seller pays, the packaging fee estimated
/// for the damage degree (insurance covers carriage only).
pub fn reimburse(s: &mut Shipping, outlay: Outlay) {
    s.damage = outlay.damage;
    s.receipt = outlay.receipt;
    (s.carrier_minor, s.packaging_minor) = match s.payer {
        Payer::Buyer => (0, 0),
        Payer::ShippingInsurance => (outlay.cost_minor.unwrap_or(0).min(s.estimate_minor), 0),
        Payer::Seller => (
            outlay.cost_minor.unwrap_or(0).min(s.estimate_minor),
            outlay.packaging_fee_minor,
        ),
    };
    s.amount_minor = s.carrier_minor + s.packaging_minor;
}

/// The merchant's finding on the packaging at inspection replaces the buyer's word:
/// the seller then reimburses the fee of that degree.
pub fn restate_packaging(s: &mut Shipping, damage: PackagingDamage, fee_minor: i64) {
    s.damage = Some(damage);
    if s.payer == Payer::Seller {
        s.packaging_minor = fee_minor;
        s.amount_minor = s.carrier_minor + s.packaging_minor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::platform_policy::PlatformPolicy;

    fn shipped(payer: Payer, cost: i64, damage: PackagingDamage) -> Shipping {
        let mut s = allocate(Reason::QualityDefect, &Policy::default(), false, 3_000);
        s.payer = payer;
        let receipt = Evidence {
            uri: "https://evidence.example/receipt.jpg".into(),
            ..Default::default()
        };
        let outlay = Outlay {
            cost_minor: Some(cost),
            receipt: Some(receipt),
            damage: Some(damage),
            packaging_fee_minor: PlatformPolicy::default().packaging_fee(Some(damage)),
        };
        reimburse(&mut s, outlay);
        s
    }

    #[test]
    fn the_seller_reimburses_the_carrier_cost_up_to_the_cap_plus_packaging_by_damage() {
        let s = shipped(Payer::Seller, 1_200, PackagingDamage::Major);
        assert_eq!(
            (s.carrier_minor, s.packaging_minor, s.amount_minor),
            (1_200, 800, 2_000)
        );
        let s = shipped(Payer::Seller, 9_900, PackagingDamage::None);
        assert_eq!(
            (s.carrier_minor, s.packaging_minor, s.amount_minor),
            (3_000, 0, 3_000),
            "the declared cost is capped, intact packaging costs nothing"
        );
        let s = shipped(Payer::ShippingInsurance, 1_200, PackagingDamage::Destroyed);
        assert_eq!(s.amount_minor, 1_200, "insurance covers carriage only");
        let s = shipped(Payer::Buyer, 1_200, PackagingDamage::Destroyed);
        assert_eq!(s.amount_minor, 0, "a no-reason return's buyer pays it all");
        assert!(s.receipt.is_some(), "the receipt is kept all the same");
    }

    #[test]
    fn a_free_shipping_order_is_capped_by_the_platform_not_its_own_zero_fee() {
        let mut s = allocate(Reason::WrongSize, &Policy::default(), false, 3_000);
        let outlay = Outlay {
            cost_minor: Some(1_000),
            ..Default::default()
        };
        reimburse(&mut s, outlay);
        assert_eq!(s.amount_minor, 1_000);
    }

    fn payer(reason: Reason, policy_payer: Payer, insured: bool) -> (Payer, String) {
        let policy = Policy {
            no_reason_shipping_payer: policy_payer,
            ..Policy::default()
        };
        let s = allocate(reason, &policy, insured, 800);
        assert_eq!((s.amount_minor, s.estimate_minor), (0, 800));
        (s.payer, s.basis)
    }

    #[test]
    fn the_seller_pays_for_quality_problems_and_the_policy_decides_no_reason_returns() {
        let quality = Reason::QualityDefect;
        let no_reason = Reason::NoReason;
        assert_eq!(
            payer(Reason::NotReceived, Payer::Buyer, false),
            (Payer::Seller, "quality_problem_seller_pays".into()),
            "refund-only: the seller"
        );
        assert_eq!(
            payer(quality, Payer::Buyer, false),
            (Payer::Seller, "quality_problem_seller_pays".into())
        );
        assert_eq!(
            payer(no_reason, Payer::Seller, true),
            (Payer::Seller, "merchant_policy_seller_pays".into())
        );
        assert_eq!(
            payer(no_reason, Payer::Buyer, true),
            (
                Payer::ShippingInsurance,
                "no_reason_shipping_insurance".into()
            )
        );
        assert_eq!(
            payer(no_reason, Payer::Buyer, false),
            (Payer::Buyer, "no_reason_buyer_pays".into())
        );
    }
}
