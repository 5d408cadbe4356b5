//! Who pays the return shipping (SPEC §3).

use super::{
    case::Shipping,
    kinds::{Family, Reason},
    policy::{Payer, Policy},
};

/// Who pays the return shipping: the seller for quality problems and refund-only; for
/// no-reason returns the policy says, and a buyer with shipping insurance has it pay.
/// `estimate` is the line's shipping fee, the most a refund of it may be.
pub fn allocate(reason: Reason, policy: &Policy, insured: bool, estimate: i64) -> Shipping {
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
        estimate_minor: estimate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
