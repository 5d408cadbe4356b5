//! The complaint's clocks (SPEC §6, seed 004): what each measures, how long it runs and
//! what its expiry means. Several run at once (resolution and first response from the
//! start; the merchant's evidence or the buyer's answer while awaited), each an SLA
//! timer. The resolution clock stops while the ticket waits on the buyer: it is
//! cancelled with its remaining time kept, and a fresh timer runs that time out on the
//! buyer's answer (so no pause can be lost between services).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kinds::Priority;

/// A clock of a complaint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClockKind {
    /// From filing to the decision (agreed or ruled): 24 h urgent, 48 h normal.
    Resolution,
    /// From filing to the first agent's claim.
    FirstResponse,
    /// The merchant's evidence, requested with a deadline (48 h by default).
    MerchantEvidence,
    /// The buyer's answer to a proposal.
    ProposalResponse,
    /// While a claimed ticket is undecided: the owner's next update (restarted by each
    /// of the owner's steps), so the buyer never goes unheard.
    NextUpdate,
    /// While the remedies are carried out (EXECUTING): each period that runs out with a
    /// remedy still owed is a breach the owner and the desk hear of.
    Execution,
    /// A resolved ticket's closing with its root cause (RESOLVED): the owner is chased
    /// until it is archived.
    Closing,
}

impl ClockKind {
    pub const ALL: [Self; 7] = [
        Self::Resolution,
        Self::FirstResponse,
        Self::MerchantEvidence,
        Self::ProposalResponse,
        Self::NextUpdate,
        Self::Execution,
        Self::Closing,
    ];

    /// Who must act before it runs out (the SLA timer's `party` label): the desk's
    /// own clocks are the platform's.
    pub fn party(self) -> &'static str {
        use kit::sla::party::*;
        match self {
            Self::MerchantEvidence => MERCHANT,
            Self::ProposalResponse => BUYER,
            _ => PLATFORM,
        }
    }

    /// The timer kind on the SLA service.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolution => "resolution",
            Self::FirstResponse => "first_response",
            Self::MerchantEvidence => "merchant_evidence",
            Self::ProposalResponse => "proposal_response",
            Self::NextUpdate => "next_update",
            Self::Execution => "execution",
            Self::Closing => "closing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A running (or paused) clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub kind: ClockKind,
    /// Its number: the timer id derives from it, never reused.
    pub seq: u32,
    pub start: DateTime<Utc>,
    /// Dated by the transition from the spans (unset while paused).
    pub due: Option<DateTime<Utc>>,
    /// While paused: the time that was left.
    pub remaining_ms: Option<i64>,
}

/// A clock that ran out before its step was done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub clock: ClockKind,
    pub due: DateTime<Utc>,
    pub owner: Option<String>,
}

/// The spans: policy data with the SPEC values as defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spans {
    pub urgent_resolution: Duration,
    pub normal_resolution: Duration,
    pub urgent_first_response: Duration,
    pub normal_first_response: Duration,
    pub merchant_evidence: Duration,
    pub proposal_response: Duration,
    pub urgent_next_update: Duration,
    pub normal_next_update: Duration,
    pub execution: Duration,
    pub closing: Duration,
}

const HOUR: u64 = 3600;

impl Default for Spans {
    fn default() -> Self {
        Self {
            urgent_resolution: Duration::from_secs(24 * HOUR),
            normal_resolution: Duration::from_secs(48 * HOUR),
            urgent_first_response: Duration::from_secs(2 * HOUR),
            normal_first_response: Duration::from_secs(4 * HOUR),
            merchant_evidence: Duration::from_secs(48 * HOUR),
            proposal_response: Duration::from_secs(72 * HOUR),
            urgent_next_update: Duration::from_secs(12 * HOUR),
            normal_next_update: Duration::from_secs(24 * HOUR),
            // a week to carry a decision out (refunds pay within minutes; a reship takes
            // a carrier's days); each week it runs late is a breach the desk sees
            execution: Duration::from_secs(7 * 24 * HOUR),
            closing: Duration::from_secs(72 * HOUR),
        }
    }
}

impl Spans {
    /// How long `kind` runs for a ticket of `priority`.
    pub fn span(&self, kind: ClockKind, priority: Priority) -> Duration {
        let urgent = priority == Priority::Urgent;
        match kind {
            ClockKind::Resolution if urgent => self.urgent_resolution,
            ClockKind::Resolution => self.normal_resolution,
            ClockKind::FirstResponse if urgent => self.urgent_first_response,
            ClockKind::FirstResponse => self.normal_first_response,
            ClockKind::MerchantEvidence => self.merchant_evidence,
            ClockKind::ProposalResponse => self.proposal_response,
            ClockKind::NextUpdate if urgent => self.urgent_next_update,
            ClockKind::NextUpdate => self.normal_next_update,
            ClockKind::Execution => self.execution,
            ClockKind::Closing => self.closing,
        }
    }
}

/// Reminders go out at this share of a clock's span (to the owner, or the queue).
pub const REMIND_AT: f64 = 0.8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_complaints_are_resolved_in_24_hours_normal_ones_in_48() {
        let s = Spans::default();
        let hours = |d: Duration| d.as_secs() / HOUR;
        assert_eq!(hours(s.span(ClockKind::Resolution, Priority::Urgent)), 24);
        assert_eq!(hours(s.span(ClockKind::Resolution, Priority::Normal)), 48);
        assert_eq!(
            hours(s.span(ClockKind::MerchantEvidence, Priority::Urgent)),
            48
        );
        for k in ClockKind::ALL {
            assert_eq!(ClockKind::parse(k.as_str()), Some(k));
        }
    }
}
