//! What an aggregate keeps of its ratings, so a read never scans them: counts and sums
//! per day and group (merchant, category, region, service type), added to in the
//! rating's own transaction. Means and shares are sums over counts; the medians and p90s
//! of the measured times come from a histogram with fixed bucket bounds, so they are
//! reported as the upper bound of the bucket the quantile falls in.

use super::scores::Scores;

/// Upper bounds of the measured-time buckets, in seconds (the last is open-ended).
pub const BOUNDS: [i64; 16] = [
    60,
    5 * 60,
    15 * 60,
    30 * 60,
    3_600,
    2 * 3_600,
    4 * 3_600,
    8 * 3_600,
    12 * 3_600,
    86_400,
    2 * 86_400,
    3 * 86_400,
    5 * 86_400,
    7 * 86_400,
    14 * 86_400,
    30 * 86_400,
];

/// Buckets: one per bound, and one past the last.
pub const BUCKETS: usize = BOUNDS.len() + 1;

/// The bucket of a span of `secs`.
pub fn bucket(secs: i64) -> usize {
    BOUNDS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(BOUNDS.len())
}

/// The upper bound of the bucket holding quantile `q` (0..1) of `hist`, in seconds;
/// None when empty, and `i64::MAX` when it falls past the last bound.
pub fn quantile(hist: &[i64; BUCKETS], q: f64) -> Option<i64> {
    let n: i64 = hist.iter().sum();
    if n == 0 {
        return None;
    }
    // the smallest bucket whose cumulative count reaches ceil(q * n)
    let rank = ((q * n as f64).ceil() as i64).max(1);
    let mut seen = 0;
    for (i, c) in hist.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(BOUNDS.get(i).copied().unwrap_or(i64::MAX));
        }
    }
    None
}

/// The increments one rating adds to its group's day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rated {
    /// Sum of each dimension's scores.
    pub sums: [i64; 5],
    /// 1 when satisfied overall (CSAT's numerator).
    pub satisfied: i64,
    /// 1 per dimension scored 4 or 5.
    pub satisfied_by_dimension: [i64; 5],
}

impl Rated {
    pub fn of(s: &Scores) -> Self {
        Self {
            sums: s.0.map(i64::from),
            satisfied: i64::from(s.satisfied()),
            satisfied_by_dimension: s.satisfied_by_dimension().map(i64::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_fall_in_the_bucket_of_their_upper_bound() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(60), 0);
        assert_eq!(bucket(61), 1);
        assert_eq!(bucket(86_400), 9);
        assert_eq!(bucket(31 * 86_400), 16);
    }

    #[test]
    fn quantiles_are_the_bound_of_the_bucket_reaching_their_rank() {
        let mut h = [0; BUCKETS];
        assert_eq!(quantile(&h, 0.5), None);
        // ten spans: 1 min x4, 1 h x5, 40 days x1
        h[0] = 4;
        h[4] = 5;
        h[16] = 1;
        assert_eq!(quantile(&h, 0.5), Some(3_600), "rank 5 is the first hour");
        assert_eq!(quantile(&h, 0.4), Some(60), "rank 4 is the last minute");
        assert_eq!(quantile(&h, 0.9), Some(3_600));
        assert_eq!(quantile(&h, 0.95), Some(i64::MAX), "past the last bound");
    }
}
