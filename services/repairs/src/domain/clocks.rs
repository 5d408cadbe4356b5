//! The repair's clocks (SPEC §5, seed 001 ch. 4): what each measures, how long it runs
//! and what its expiry does. Every clock is a timer on the SLA service; the working-day
//! ones run on its `cn` calendar.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A clock of a repair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClockKind {
    /// Filing to the merchant's first response: 24 h. Expiry: the platform desk is told
    /// and a breach recorded on the merchant.
    FirstResponse,
    /// Filing to the formal answer (accept, or decline with a reason): 2 working days.
    /// Expiry: escalated to the desk, a breach on the merchant.
    FormalAnswer,
    /// Fault confirmed and quote accepted (or confirmed, when free) to repaired: 7
    /// working days, extendable once. Expiry: overdue, the late penalty accrues.
    RepairDue,
    /// The repaired item delivered to the buyer's acceptance: 7 days. Expiry: accepted
    /// automatically.
    BuyerAcceptance,
}

impl ClockKind {
    pub const ALL: [Self; 4] = [
        Self::FirstResponse,
        Self::FormalAnswer,
        Self::RepairDue,
        Self::BuyerAcceptance,
    ];

    /// The timer kind on the SLA service.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::FormalAnswer => "formal_answer",
            Self::RepairDue => "repair_due",
            Self::BuyerAcceptance => "buyer_acceptance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How long a clock runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// Wall-clock time.
    After(Duration),
    /// Working days on the SLA service's `cn` calendar.
    WorkingDays(u32),
}

/// The spans: SPEC §5's values, each replaceable by a wall-clock span (tests use
/// seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spans {
    pub first_response: Span,
    pub formal_answer: Span,
    pub repair_due: Span,
    pub buyer_acceptance: Span,
}

impl Default for Spans {
    fn default() -> Self {
        Self {
            first_response: Span::After(Duration::from_secs(24 * 3600)),
            formal_answer: Span::WorkingDays(2),
            repair_due: Span::WorkingDays(7),
            buyer_acceptance: Span::After(Duration::from_secs(7 * 24 * 3600)),
        }
    }
}

impl Spans {
    pub fn span(&self, kind: ClockKind) -> &Span {
        match kind {
            ClockKind::FirstResponse => &self.first_response,
            ClockKind::FormalAnswer => &self.formal_answer,
            ClockKind::RepairDue => &self.repair_due,
            ClockKind::BuyerAcceptance => &self.buyer_acceptance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_spans_are_the_defaults() {
        let s = Spans::default();
        assert_eq!(
            s.span(ClockKind::FirstResponse),
            &Span::After(Duration::from_secs(86_400))
        );
        assert_eq!(s.span(ClockKind::FormalAnswer), &Span::WorkingDays(2));
        assert_eq!(s.span(ClockKind::RepairDue), &Span::WorkingDays(7));
        assert_eq!(
            s.span(ClockKind::BuyerAcceptance),
            &Span::After(Duration::from_secs(7 * 86_400))
        );
        for k in ClockKind::ALL {
            assert_eq!(ClockKind::parse(k.as_str()), Some(k));
        }
    }
}
