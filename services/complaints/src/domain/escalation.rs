//! Escalation to the expert group (seed 002): automatic for a high-value case (at or
//! above 10,000.00 CNY by default, policy) or one whose buyer and merchant are in
//! different regions; manual by the owner with a reason.

/// The expert group's default name.
pub const EXPERT_GROUP: &str = "expert";

/// The policy: the amount (CNY minor units) from which a case goes to the experts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold(pub i64);

impl Default for Threshold {
    fn default() -> Self {
        Self(1_000_000)
    }
}

/// Why a new case goes to the expert group at once, if it does.
pub fn automatic(
    claim_minor: i64,
    currency: &str,
    buyer_region: &str,
    merchant_region: &str,
    threshold: Threshold,
) -> Option<&'static str> {
    if currency == "CNY" && claim_minor >= threshold.0 {
        return Some("high_value");
    }
    if !buyer_region.is_empty() && !merchant_region.is_empty() && buyer_region != merchant_region {
        return Some("cross_region");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_yuan_or_two_regions_go_to_the_experts() {
        let t = Threshold::default();
        assert_eq!(automatic(999_999, "CNY", "CN-31", "CN-31", t), None);
        assert_eq!(
            automatic(1_000_000, "CNY", "CN-31", "CN-31", t),
            Some("high_value")
        );
        assert_eq!(
            automatic(100, "CNY", "CN-31", "CN-44", t),
            Some("cross_region")
        );
        assert_eq!(
            automatic(100, "CNY", "CN-31", "", t),
            None,
            "a region unknown"
        );
    }
}
