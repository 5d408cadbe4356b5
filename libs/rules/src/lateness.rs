//! Days late (seed 001 §5.3.1: the late penalty accrues per day late) and the time that
//! does not count (§5.3.2: no penalty for a delay the merchant did not cause: a payment
//! gateway holding a refund up, a buyer holding a repair up), for every service that
//! charges lateness.

use chrono::{DateTime, Duration, Utc};

/// Whole days late from `due` to `done`, a started day counting as one.
pub fn late_days(due: DateTime<Utc>, done: DateTime<Utc>) -> u32 {
    let secs = (done - due).num_seconds();
    if secs <= 0 {
        0
    } else {
        u32::try_from((secs as u64).div_ceil(86_400)).unwrap_or(u32::MAX)
    }
}

/// How much of `[from, to)` the `spans` cover, overlaps counted once (a span still open
/// is given as ending at `to`).
pub fn covered(
    spans: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Duration {
    let mut spans: Vec<_> = spans
        .into_iter()
        .map(|(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .collect();
    spans.sort();
    let mut total = Duration::zero();
    let mut reach: Option<DateTime<Utc>> = None;
    for (a, b) in spans {
        let a = reach.map_or(a, |r| a.max(r));
        if b > a {
            total += b - a;
            reach = Some(b);
        }
    }
    total
}

/// The days charged for being late since `since` and done at `done`, `excused` of that
/// time not the merchant's. With nothing excused a case found late is at least one day
/// late (its clock ran out, a started day counts); excused for all of it, none.
pub fn chargeable_days(since: DateTime<Utc>, done: DateTime<Utc>, excused: Duration) -> u32 {
    if excused.is_zero() {
        return late_days(since, done).max(1);
    }
    late_days(since + excused, done)
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
    fn a_started_day_counts() {
        let day = Duration::days(1);
        assert_eq!(late_days(t0(), t0() - day), 0);
        assert_eq!(late_days(t0(), t0() + day), 1);
        assert_eq!(late_days(t0(), t0() + day + Duration::seconds(1)), 2);
    }

    #[test]
    fn overlapping_excuses_count_once_and_only_within_the_window() {
        let h = |n: i64| t0() + Duration::hours(n);
        let spans = [(h(-5), h(2)), (h(1), h(4)), (h(10), h(30))];
        // [0, 4) and [10, 24) within [0, 24)
        assert_eq!(covered(spans, h(0), h(24)), Duration::hours(18));
        assert_eq!(chargeable_days(h(0), h(48), Duration::zero()), 2);
        assert_eq!(chargeable_days(h(0), h(48), Duration::hours(30)), 1);
        assert_eq!(chargeable_days(h(0), h(48), Duration::hours(48)), 0);
    }
}
