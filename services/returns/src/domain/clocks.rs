//! The clocks of the flow (SPEC §3 table): how long each runs, when it runs out, and
//! what its expiry means.

use std::{sync::LazyLock, time::Duration};

use calendar::BusinessCalendar;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{machine::Command, policy::Policy};

/// Parsed once: the calendar data is compiled in.
static CN: LazyLock<BusinessCalendar> = LazyLock::new(BusinessCalendar::china_mainland);

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

/// How long `kind` runs under the merchant's `policy`, unless `overridden` by a
/// wall-clock duration (the `RETURNS_CLOCK_<KIND>` setting).
pub fn span(kind: ClockKind, overridden: Option<Duration>, policy: &Policy) -> Span {
    match overridden {
        Some(d) => Span::After(d),
        None => kind.span(policy.review_hours as u64, policy.reject_appeal_window_days),
    }
}

/// When a clock of `span` started at `start` runs out (working days on the `cn`
/// calendar, as the SLA service counts them).
pub fn due(span: &Span, start: DateTime<Utc>) -> DateTime<Utc> {
    match span {
        Span::After(d) => start + chrono::Duration::from_std(*d).unwrap_or_default(),
        Span::WorkingDays(n) => CN.add_working_days(start, *n).value,
    }
}

/// The automatic transition when `kind` runs out (SPEC §3): silence is consent for the
/// merchant's review and inspection, forfeit for the buyer's ship-back, lateness for
/// the refund or replacement, confirmation for the replacement, closing for the appeal.
pub fn on_expiry(kind: ClockKind, policy: &Policy) -> Command {
    match kind {
        ClockKind::MerchantReview => Command::Approve {
            address: policy.return_address.clone(),
            carriers: Vec::new(),
            note: "auto-approved: the merchant did not review in time".into(),
            auto: true,
        },
        ClockKind::BuyerReturnShipment => Command::ShipBackExpired,
        ClockKind::MerchantInspection => Command::Inspect {
            passed: true,
            note: "auto-passed: the merchant did not inspect in time".into(),
            evidence: Vec::new(),
            auto: true,
        },
        ClockKind::RefundOrReplacement => Command::Overdue,
        ClockKind::ReplacementConfirmation => Command::Confirm { auto: true },
        ClockKind::RejectAppeal => Command::AppealExpired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    #[test]
    fn spans_follow_the_policy_unless_overridden() {
        let p = Policy::default();
        let review = span(ClockKind::MerchantReview, None, &p);
        assert_eq!(
            review,
            Span::After(Duration::from_secs(p.review_hours as u64 * 3600))
        );
        assert_eq!(
            span(ClockKind::BuyerReturnShipment, None, &p),
            Span::WorkingDays(3)
        );
        assert_eq!(
            span(ClockKind::RejectAppeal, None, &p),
            Span::After(Duration::from_secs(
                p.reject_appeal_window_days as u64 * 86_400
            ))
        );
        let two = Some(Duration::from_secs(2));
        assert_eq!(
            span(ClockKind::RefundOrReplacement, two, &p),
            Span::After(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_wall_clock_span_is_plain_time_and_working_days_skip_the_weekend() {
        let friday = at("2026-03-06T10:00:00+08:00");
        assert_eq!(
            due(&Span::After(Duration::from_secs(48 * 3600)), friday),
            at("2026-03-08T10:00:00+08:00")
        );
        assert!(due(&Span::WorkingDays(1), friday) >= at("2026-03-09T00:00:00+08:00"));
    }

    #[test]
    fn every_expiry_has_its_automatic_transition() {
        let p = Policy::default();
        let actions: Vec<_> = ClockKind::ALL
            .iter()
            .map(|k| on_expiry(*k, &p).action())
            .collect();
        assert_eq!(
            actions,
            [
                "auto_approve",
                "ship_back_expired",
                "auto_pass_inspection",
                "refund_or_replacement_overdue",
                "auto_confirm",
                "appeal_window_expired",
            ]
        );
    }
}
