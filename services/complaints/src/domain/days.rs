//! Days as the platform counts them: Beijing (UTC+8) calendar days, numbered from the
//! epoch, for daily counts such as early warning's.

use chrono::{DateTime, Utc};

const DAY_SECS: i64 = 86_400;
const CHINA_SECS: i64 = 8 * 3600;

/// The day number (days since the epoch in UTC+8) of `t`.
pub fn day_of(t: DateTime<Utc>) -> i64 {
    (t.timestamp() + CHINA_SECS).div_euclid(DAY_SECS)
}

/// When day `d` starts (00:00 UTC+8).
pub fn day_start(d: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(d * DAY_SECS - CHINA_SECS, 0).expect("in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beijing_day_starts_at_16_utc_the_day_before() {
        let t = DateTime::parse_from_rfc3339("2026-12-02T16:30:00Z")
            .unwrap()
            .to_utc();
        let d = day_of(t);
        assert_eq!(day_start(d).to_rfc3339(), "2026-12-02T16:00:00+00:00");
        assert_eq!(day_of(day_start(d) - chrono::Duration::seconds(1)), d - 1);
    }
}
