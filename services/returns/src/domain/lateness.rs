//! A merchant late with the refund or replacement (seed 001 §5.3.1): whole days late,
//! and the penalty they cost, as `rules::late_penalty` computes it for every service.
//! Time the payment gateway held a refund up (a refund refunds reported failed or
//! escalated, until it settled) is not the merchant's delay (§5.3.2: no penalty for a
//! delay the merchant did not cause), so it is left out of the days late.

use chrono::{DateTime, Duration, Utc};

use super::case::Case;

pub use rules::lateness::late_days;

/// The penalty for `days` late on a line worth `line_amount_minor` (0.5 % a day).
pub fn penalty(line_amount_minor: i64, days: u32) -> i64 {
    rules::late_penalty(line_amount_minor, days, false)
        .map(|p| p.minor)
        .unwrap_or(0)
}

/// How much of `[from, to)` the request's excusing refund problems cover (overlaps
/// counted once; a problem still open runs until `to`).
pub fn excused(c: &Case, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    let spans = c
        .refund_problems
        .iter()
        .filter(|p| p.excuses)
        .map(|p| (p.since, p.until.unwrap_or(to)));
    rules::lateness::covered(spans, from, to)
}

/// The days the merchant is charged for, late since `since` and done at `done`: the
/// days late without the gateway's time (`rules::lateness::chargeable_days`).
pub fn chargeable_days(c: &Case, since: DateTime<Utc>, done: DateTime<Utc>) -> u32 {
    rules::lateness::chargeable_days(since, done, excused(c, since, done))
}

/// Days late and the penalty of a request at `now`: accruing while it is still late
/// (paused while a refund problem lasts), fixed once the merchant delivered.
pub fn accrued(c: &Case, now: DateTime<Utc>) -> (u32, i64) {
    match c.overdue_since {
        Some(since) if c.late_days == 0 && !c.state.is_terminal() => {
            let days = chargeable_days(c, since, now);
            (days, penalty(c.line_amount_minor, days))
        }
        _ => (c.late_days, c.penalty_minor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{RefundProblem, RefundProblemKind};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-03T10:00:00+08:00")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn a_started_day_counts_and_the_penalty_is_half_a_percent_a_day() {
        let day = chrono::Duration::days(1);
        assert_eq!(late_days(t0(), t0() - day), 0);
        assert_eq!(late_days(t0(), t0() + day), 1);
        assert_eq!(
            late_days(t0(), t0() + day + chrono::Duration::seconds(1)),
            2
        );
        assert_eq!(penalty(10_000, 0), 0);
        assert_eq!(penalty(10_000, 1), 50);
        assert_eq!(penalty(10_000, 10), 500);
    }

    fn problem(since_h: i64, until_h: Option<i64>) -> RefundProblem {
        RefundProblem {
            refund: "refunds/1".into(),
            kind: RefundProblemKind::Failed,
            reason: "card closed".into(),
            since: t0() + Duration::hours(since_h),
            until: until_h.map(|h| t0() + Duration::hours(h)),
            excuses: true,
        }
    }

    fn with(problems: Vec<RefundProblem>) -> Case {
        let mut c = crate::domain::fixture::case(crate::domain::kinds::Kind::ReturnRefund);
        c.refund_problems = problems;
        c
    }

    #[test]
    fn the_gateways_time_is_not_the_merchants() {
        let day = |d: i64| t0() + Duration::days(d);
        // late since t0, done 5 days later, the gateway failing for 3 of them
        let c = with(vec![problem(24, Some(96))]);
        assert_eq!(excused(&c, t0(), day(5)), Duration::days(3));
        assert_eq!(chargeable_days(&c, t0(), day(5)), 2);
        // a problem before the due date is not credited (the due date does not move),
        // only the part after it
        let c = with(vec![problem(-48, Some(24))]);
        assert_eq!(chargeable_days(&c, t0(), day(3)), 2);
        // overlapping problems count once; one still open runs until now
        let c = with(vec![problem(0, Some(48)), problem(24, None)]);
        assert_eq!(excused(&c, t0(), day(4)), Duration::days(4));
        assert_eq!(
            chargeable_days(&c, t0(), day(4)),
            0,
            "all of it was the gateway's"
        );
        // nothing excused: a request found late is a day late at least
        let c = with(Vec::new());
        assert_eq!(chargeable_days(&c, t0(), t0()), 1);
    }
}
