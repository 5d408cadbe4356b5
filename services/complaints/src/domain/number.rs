//! Human-readable ticket numbers for status queries: `TS` + the filing day in Beijing
//! time + a six-digit (or longer) sequence, e.g. `TS20261203-000042`. The sequence is
//! the schema's, so numbers are unique and sort by day, then by filing order.

use chrono::{DateTime, FixedOffset, Utc};

/// The number of the `seq`-th ticket, filed at `at`.
pub fn format(at: DateTime<Utc>, seq: i64) -> String {
    let china = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    format!("TS{}-{seq:06}", at.with_timezone(&china).format("%Y%m%d"))
}

/// Whether `s` looks like a ticket number (before it is looked up).
pub fn looks_like(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("TS") else {
        return false;
    };
    let Some((day, seq)) = rest.split_once('-') else {
        return false;
    };
    day.len() == 8
        && day.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 6
        && seq.len() <= 18
        && seq.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_the_beijing_day_and_sort_by_it() {
        let late = DateTime::parse_from_rfc3339("2026-12-02T16:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(format(late, 42), "TS20261203-000042", "00:30 in Beijing");
        assert!(looks_like("TS20261203-000042"));
        assert!(!looks_like("TS2026123-000042"));
        assert!(!looks_like("complaints/1"));
        assert!(format(late, 9) < format(late + chrono::Duration::days(1), 1));
    }
}
