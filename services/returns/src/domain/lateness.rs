//! A merchant late with the refund or replacement (seed 001 §5.3.1): whole days late,
//! and the penalty they cost, as `rules::late_penalty` computes it for every service.

use chrono::{DateTime, Utc};

use super::case::Case;

/// Whole days late from `due` to `done`, a started day counting as one.
pub fn late_days(due: DateTime<Utc>, done: DateTime<Utc>) -> u32 {
    let secs = (done - due).num_seconds();
    if secs <= 0 {
        0
    } else {
        (secs as u64).div_ceil(86_400) as u32
    }
}

/// The penalty for `days` late on a line worth `line_amount_minor` (0.5 % a day).
pub fn penalty(line_amount_minor: i64, days: u32) -> i64 {
    rules::late_penalty(line_amount_minor, days, false)
        .map(|p| p.minor)
        .unwrap_or(0)
}

/// Days late and the penalty of a request at `now`: accruing while it is still late,
/// fixed once the merchant delivered.
pub fn accrued(c: &Case, now: DateTime<Utc>) -> (u32, i64) {
    match c.overdue_since {
        Some(since) if c.late_days == 0 && !c.state.is_terminal() => {
            let days = late_days(since, now).max(1);
            (days, penalty(c.line_amount_minor, days))
        }
        _ => (c.late_days, c.penalty_minor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
