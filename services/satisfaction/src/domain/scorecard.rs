//! The merchant after-sales scorecard (seed 000 §一(六)): what one event adds to a
//! merchant's day, and the figures of a period, each beside the counts behind it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// What one event adds to a merchant's day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    /// An after-sales case ended (counted once per case); a repair's extra rounds are
    /// re-repairs.
    CaseEnded {
        case_name: String,
        re_repairs: i64,
    },
    ComplaintOpened,
    /// One of the merchant's clocks ended, met or breached.
    Clock {
        breached: bool,
    },
    /// A late penalty settled.
    Penalty {
        currency: String,
        minor: i64,
    },
}

/// A merchant's counts over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub cases: i64,
    pub complaints: i64,
    pub sla_clocks: i64,
    pub sla_breaches: i64,
    pub re_repairs: i64,
    /// Settled late penalties per currency: (minor units, how many).
    pub penalties: BTreeMap<String, (i64, i64)>,
}

impl Counts {
    /// SLA compliance: the share of the merchant's clocks met; 1 with no clock.
    pub fn sla_compliance(&self) -> f64 {
        if self.sla_clocks == 0 {
            return 1.0;
        }
        1.0 - self.sla_breaches as f64 / self.sla_clocks as f64
    }

    /// Complaints per after-sales case ended, as a share (100 times it is the rate per
    /// 100 cases), at most 1; 0 with no case.
    pub fn complaint_rate(&self) -> f64 {
        if self.cases == 0 {
            return 0.0;
        }
        (self.complaints as f64 / self.cases as f64).min(1.0)
    }
}

/// The period's days, `[from, to)`.
pub type Span = (NaiveDate, NaiveDate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_and_complaint_rate_are_shares_of_their_counts() {
        let c = Counts {
            cases: 8,
            complaints: 2,
            sla_clocks: 4,
            sla_breaches: 1,
            ..Default::default()
        };
        assert_eq!((c.sla_compliance(), c.complaint_rate()), (0.75, 0.25));
        assert_eq!(Counts::default().sla_compliance(), 1.0);
        assert_eq!(Counts::default().complaint_rate(), 0.0);
    }
}
