//! The one extension of the repair's due time (SPEC §5, seed 001 ch. 4: "extendable
//! once, with advance notice, a reason and a new ETA"), and what a late repair costs
//! (seed 001 §5.3.1-5.3.2: 0.5 % of the line a day past the (extended) due time, none
//! for a delay the buyer caused).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The extension, once granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub reason: String,
    pub previous_due: DateTime<Utc>,
    pub new_due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// Why an extension is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The one extension was used.
    AlreadyExtended,
    /// Announced at or after the due time: not "in advance".
    DuePassed,
    /// The new ETA is not after the current due time.
    NotLater,
    /// No reason given.
    NoReason,
    /// The new ETA is past the latest an extension may reach.
    TooLate,
}

impl Refused {
    /// A stable reason for the caller.
    pub fn reason(self) -> &'static str {
        match self {
            Self::AlreadyExtended => "ALREADY_EXTENDED",
            Self::DuePassed => "DUE_TIME_PASSED",
            Self::NotLater => "ETA_NOT_LATER",
            Self::NoReason => "REASON_REQUIRED",
            Self::TooLate => "ETA_TOO_LATE",
        }
    }
}

/// Extends `due` to `new_due` (at most `latest`) at `now`, unless the rule refuses it.
pub fn extend(
    due: DateTime<Utc>,
    granted: Option<&Extension>,
    reason: &str,
    (new_due, latest): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<Extension, Refused> {
    if granted.is_some() {
        return Err(Refused::AlreadyExtended);
    }
    if now >= due {
        return Err(Refused::DuePassed);
    }
    if new_due <= due {
        return Err(Refused::NotLater);
    }
    if new_due > latest {
        return Err(Refused::TooLate);
    }
    if reason.trim().is_empty() {
        return Err(Refused::NoReason);
    }
    Ok(Extension {
        reason: reason.to_string(),
        previous_due: due,
        new_due,
        at: now,
    })
}

/// Days charged and the penalty of a repair due at `due`, done at `done`, on a line of
/// `line_minor`; `buyer_delays` (spans the buyer held it up) are not charged.
pub fn late_penalty(
    line_minor: i64,
    due: DateTime<Utc>,
    done: DateTime<Utc>,
    buyer_delays: &[(DateTime<Utc>, DateTime<Utc>)],
) -> (u32, i64) {
    if done <= due {
        return (0, 0);
    }
    let excused: Duration = rules::lateness::covered(buyer_delays.iter().copied(), due, done);
    let days = rules::lateness::chargeable_days(due, done, excused);
    let minor = rules::late_penalty(line_minor, days, false).map_or(0, |p| p.minor);
    (days, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00")
            .unwrap()
            .to_utc()
            + Duration::hours(h)
    }

    #[test]
    fn one_extension_announced_before_the_due_time_with_a_reason_and_a_later_eta() {
        let due = t(100);
        let to = |h: i64| (t(h), t(300));
        let e = extend(due, None, "the part ships from the factory", to(148), t(99)).unwrap();
        assert_eq!((e.previous_due, e.new_due), (due, t(148)));
        assert_eq!(
            extend(t(148), Some(&e), "again", to(200), t(120)),
            Err(Refused::AlreadyExtended)
        );
        assert_eq!(
            extend(due, None, "late", to(148), t(100)),
            Err(Refused::DuePassed)
        );
        assert_eq!(
            extend(due, None, "sooner?", to(90), t(50)),
            Err(Refused::NotLater)
        );
        assert_eq!(
            extend(due, None, " ", to(148), t(50)),
            Err(Refused::NoReason)
        );
        assert_eq!(
            extend(due, None, "a year", (t(9_000), t(300)), t(50)),
            Err(Refused::TooLate)
        );
    }

    #[test]
    fn half_a_percent_a_started_day_past_the_due_time_less_the_buyers_delays() {
        // 1,000.00 line, due t(0)
        assert_eq!(late_penalty(100_000, t(0), t(0), &[]), (0, 0));
        assert_eq!(late_penalty(100_000, t(0), t(1), &[]), (1, 500));
        assert_eq!(late_penalty(100_000, t(0), t(72), &[]), (3, 1_500));
        // the buyer held it up for two of the three days
        assert_eq!(
            late_penalty(100_000, t(0), t(72), &[(t(-10), t(48))]),
            (1, 500)
        );
        // for all of it: nothing
        assert_eq!(late_penalty(100_000, t(0), t(72), &[(t(0), t(72))]), (0, 0));
    }
}
