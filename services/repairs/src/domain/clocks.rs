//! The repair's clocks (SPEC §5, seed 001 ch. 4): what each measures, how long it runs
//! and what its expiry does. Every non-final state runs one (`machine::tests` walks them
//! all): the four of SPEC §5, and the suite's own for the waits it leaves open (the
//! item on its way in, a step the merchant owes, the buyer's quote decision, a charge,
//! each day overdue, the parcel back). Every clock is a timer on the SLA service; the
//! working-day ones are dated on the `cn` calendar.

use std::{sync::LazyLock, time::Duration};

use calendar::BusinessCalendar;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The calendar working days are counted on (the SLA service's `cn`).
static CN: LazyLock<BusinessCalendar> = LazyLock::new(BusinessCalendar::china_mainland);

/// A clock of a repair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClockKind {
    /// REQUESTED: the merchant's first response, 24 h. Expiry: a breach, the desk told.
    FirstResponse,
    /// REQUESTED, ACKNOWLEDGED: the formal answer (accept, or decline with a reason), 2
    /// working days. Expiry: a breach, escalated to the desk; a new period starts.
    FormalAnswer,
    /// ACCEPTED until the item arrives: 7 days. Expiry: the buyer and the desk told; a
    /// new period.
    ItemInbound,
    /// A step the merchant owes outside SPEC's clocks (diagnose the arrived item, quote
    /// a diagnosed paid repair, ship the repaired item back): 2 working days. Expiry: a
    /// breach, the desk told; a new period.
    MerchantStep,
    /// QUOTED: the buyer's decision, 7 days. Expiry: declined (the item goes back
    /// unrepaired).
    QuoteDecision,
    /// QUOTED and accepted, the charge not answered: 30 min. Expiry: the charge asked
    /// again under its id, the desk told; a new period.
    Charge,
    /// REPAIRING: repaired within 7 working days of the fault confirmed and the quote
    /// accepted (or of the confirmation, when free), extendable once. Expiry: overdue,
    /// the late penalty accrues.
    RepairDue,
    /// REPAIRING past its due time: each day the merchant and the desk hear of it (the
    /// buyer was told once, when it fell due); a new period.
    Overdue,
    /// SHIPPED until delivered: 7 days. Expiry: the buyer and the desk told; a new period.
    Transit,
    /// AWAITING_ACCEPTANCE: the buyer's acceptance, 7 days. Expiry: accepted
    /// automatically.
    BuyerAcceptance,
}

impl ClockKind {
    pub const ALL: [Self; 10] = [
        Self::FirstResponse,
        Self::FormalAnswer,
        Self::ItemInbound,
        Self::MerchantStep,
        Self::QuoteDecision,
        Self::Charge,
        Self::RepairDue,
        Self::Overdue,
        Self::Transit,
        Self::BuyerAcceptance,
    ];

    /// Who must act before it runs out (the SLA timer's `party` label).
    pub fn party(self) -> &'static str {
        use kit::sla::party::*;
        match self {
            Self::FirstResponse | Self::FormalAnswer | Self::MerchantStep | Self::RepairDue => {
                MERCHANT
            }
            // the reminders after repair_due's breach, which counted already: not a clock
            // of the merchant's own
            Self::Overdue => PLATFORM,
            Self::ItemInbound | Self::QuoteDecision | Self::BuyerAcceptance => BUYER,
            Self::Charge => PLATFORM,
            Self::Transit => CARRIER,
        }
    }

    /// The timer kind on the SLA service.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::FormalAnswer => "formal_answer",
            Self::ItemInbound => "item_inbound",
            Self::MerchantStep => "merchant_step",
            Self::QuoteDecision => "quote_decision",
            Self::Charge => "charge",
            Self::RepairDue => "repair_due",
            Self::Overdue => "overdue",
            Self::Transit => "transit",
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

const DAY: u64 = 86_400;

/// The span of each clock: SPEC §5's values and the suite's own, each replaceable by a
/// wall-clock span (`REPAIRS_CLOCK_<KIND>`; tests use seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spans(Vec<(ClockKind, Span)>);

impl Default for Spans {
    fn default() -> Self {
        use ClockKind::*;
        let after = |s: u64| Span::After(Duration::from_secs(s));
        Self(vec![
            (FirstResponse, after(DAY)),
            (FormalAnswer, Span::WorkingDays(2)),
            (ItemInbound, after(7 * DAY)),
            (MerchantStep, Span::WorkingDays(2)),
            (QuoteDecision, after(7 * DAY)),
            (Charge, after(30 * 60)),
            (RepairDue, Span::WorkingDays(7)),
            (Overdue, after(DAY)),
            (Transit, after(7 * DAY)),
            (BuyerAcceptance, after(7 * DAY)),
        ])
    }
}

impl Spans {
    pub fn span(&self, kind: ClockKind) -> &Span {
        &self
            .0
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every kind has a span")
            .1
    }

    /// When `kind`, started at `start`, runs out: 24:00 Beijing of the last working day
    /// for a working-day span (the starting day never counts).
    pub fn due(&self, kind: ClockKind, start: DateTime<Utc>) -> DateTime<Utc> {
        match self.span(kind) {
            Span::After(d) => {
                start + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX)
            }
            Span::WorkingDays(n) => CN.add_working_days(start, *n).value,
        }
    }

    /// Replaces `kind`'s span.
    pub fn set(&mut self, kind: ClockKind, span: Span) {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == kind) {
            slot.1 = span;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_spans_are_the_defaults() {
        let s = Spans::default();
        let after = |d: u64| Span::After(Duration::from_secs(d * DAY));
        assert_eq!(s.span(ClockKind::FirstResponse), &after(1));
        assert_eq!(s.span(ClockKind::FormalAnswer), &Span::WorkingDays(2));
        assert_eq!(s.span(ClockKind::RepairDue), &Span::WorkingDays(7));
        assert_eq!(s.span(ClockKind::BuyerAcceptance), &after(7));
        for k in ClockKind::ALL {
            assert_eq!(ClockKind::parse(k.as_str()), Some(k));
            let _ = s.span(k);
        }
    }

    #[test]
    fn working_day_clocks_skip_the_weekend_and_the_starting_day() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let s = Spans::default();
        // filed Friday 2026-03-06 15:00: 2 working days are Monday and Tuesday
        let filed = at("2026-03-06T15:00:00+08:00");
        assert_eq!(
            s.due(ClockKind::FormalAnswer, filed),
            at("2026-03-11T00:00:00+08:00")
        );
        assert_eq!(
            s.due(ClockKind::FirstResponse, filed),
            at("2026-03-07T15:00:00+08:00")
        );
    }
}
