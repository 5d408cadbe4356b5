//! The clocks of the flow (SPEC §3 table) and how long each runs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A clock of the flow; its name is the SLA timer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockKind {
    /// The merchant reviews: 48 h (24 h if promised); expiry auto-approves.
    MerchantReview,
    /// The buyer ships back: 3 working days; expiry closes as forfeited.
    BuyerReturnShipment,
    /// The merchant inspects after delivery: 3 working days; expiry passes it.
    MerchantInspection,
    /// Refund or replacement after inspection: 7 working days; expiry makes it late.
    RefundOrReplacement,
    /// The buyer confirms the replacement: 7 days after delivery; expiry confirms.
    ReplacementConfirmation,
    /// The buyer may revise or appeal a rejection: policy days (5); expiry closes.
    RejectAppeal,
}

/// How long a clock runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// Wall-clock time.
    After(Duration),
    /// Working days on the `cn` calendar.
    WorkingDays(u32),
}

impl ClockKind {
    /// The SLA timer kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MerchantReview => "merchant_review",
            Self::BuyerReturnShipment => "buyer_return_shipment",
            Self::MerchantInspection => "merchant_inspection",
            Self::RefundOrReplacement => "refund_or_replacement",
            Self::ReplacementConfirmation => "replacement_confirmation",
            Self::RejectAppeal => "reject_appeal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    pub const ALL: [ClockKind; 6] = [
        Self::MerchantReview,
        Self::BuyerReturnShipment,
        Self::MerchantInspection,
        Self::RefundOrReplacement,
        Self::ReplacementConfirmation,
        Self::RejectAppeal,
    ];

    /// The SPEC span; `review_hours` and `appeal_days` come from the merchant's policy.
    pub fn span(self, review_hours: u64, appeal_days: u32) -> Span {
        match self {
            Self::MerchantReview => Span::After(Duration::from_secs(review_hours * 3600)),
            Self::BuyerReturnShipment => Span::WorkingDays(3),
            Self::MerchantInspection => Span::WorkingDays(3),
            Self::RefundOrReplacement => Span::WorkingDays(7),
            Self::ReplacementConfirmation => Span::After(Duration::from_secs(7 * 86_400)),
            Self::RejectAppeal => Span::After(Duration::from_secs(appeal_days as u64 * 86_400)),
        }
    }

    /// Whether the clock gets a reminder at 80 % elapsed (the buyer's ship-back clock:
    /// "reminder before", SPEC §3).
    pub fn reminds(self) -> bool {
        matches!(self, Self::BuyerReturnShipment)
    }
}
