//! Aggregates folded from the daily rollups (never from ratings): the days of a period,
//! grouped by any of merchant, category, region, service type and calendar period (day,
//! ISO week, month, on UTC+8 dates), each group's totals and the figures a reader wants
//! of them (means, shares, quantiles).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::rollup::{BUCKETS, quantile};

/// The platform's calendar day of an instant (UTC+8).
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    // at the edge of the representable range, the UTC day
    t.checked_add_signed(Duration::hours(8))
        .unwrap_or(t)
        .date_naive()
}

/// Measured times of a group: how many, their sum (seconds), their histogram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    pub n: i64,
    pub sum: i64,
    pub hist: [i64; BUCKETS],
}

impl Measured {
    fn add(&mut self, o: &Measured) {
        self.n += o.n;
        self.sum += o.sum;
        for (a, b) in self.hist.iter_mut().zip(o.hist) {
            *a += b;
        }
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> Option<i64> {
        (self.n > 0).then(|| self.sum / self.n)
    }

    pub fn median(&self) -> Option<i64> {
        quantile(&self.hist, 0.5)
    }

    pub fn p90(&self) -> Option<i64> {
        quantile(&self.hist, 0.9)
    }
}

/// What a group adds up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub surveys: i64,
    pub ratings: i64,
    pub satisfied: i64,
    pub score_sums: [i64; 5],
    pub satisfied_by_dimension: [i64; 5],
    pub first_response: Measured,
    pub resolution: Measured,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        self.surveys += o.surveys;
        self.ratings += o.ratings;
        self.satisfied += o.satisfied;
        for i in 0..5 {
            self.score_sums[i] += o.score_sums[i];
            self.satisfied_by_dimension[i] += o.satisfied_by_dimension[i];
        }
        self.first_response.add(&o.first_response);
        self.resolution.add(&o.resolution);
    }

    /// CSAT: the share of ratings satisfied overall; None without ratings.
    pub fn csat(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.satisfied as f64 / self.ratings as f64)
    }

    /// A dimension's mean score and share of 4-5 scores.
    pub fn dimension(&self, i: usize) -> Option<(f64, f64)> {
        (self.ratings > 0).then(|| {
            let n = self.ratings as f64;
            (
                self.score_sums[i] as f64 / n,
                self.satisfied_by_dimension[i] as f64 / n,
            )
        })
    }
}

/// One day of one merchant, category, region and service type, as the rollup keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    pub service_type: i16,
    pub day: NaiveDate,
    pub totals: Totals,
}

/// A calendar period to group by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// The first day of the period holding `d`.
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => d,
            Self::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Self::Month => d.with_day(1).expect("day 1 exists"),
        }
    }

    /// The first day after the period starting at `start`.
    pub fn end(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => {
                let (y, m) = (start.year(), start.month());
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).expect("a month's first day")
            }
        }
    }
}

/// What to split by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupBy {
    pub merchant: bool,
    pub category: bool,
    pub region: bool,
    pub service_type: bool,
    pub period: Option<Period>,
}

/// A group's key: the dimensions split by, and its days `[from, to)` (the whole asked
/// span when not split by time; a period clipped to it otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub merchant_id: Option<String>,
    pub category: Option<String>,
    pub region: Option<String>,
    pub service_type: Option<i16>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The days of `[from, to)` folded into groups, ordered by key.
pub fn group(days: &[Day], by: GroupBy, (from, to): (NaiveDate, NaiveDate)) -> Vec<(Key, Totals)> {
    let mut groups: BTreeMap<Key, Totals> = BTreeMap::new();
    for d in days.iter().filter(|d| d.day >= from && d.day < to) {
        let (start, end) = match by.period {
            Some(p) => {
                let s = p.start(d.day);
                (s.max(from), p.end(s).min(to))
            }
            None => (from, to),
        };
        let key = Key {
            merchant_id: by.merchant.then(|| d.merchant_id.clone()),
            category: by.category.then(|| d.category.clone()),
            region: by.region.then(|| d.region.clone()),
            service_type: by.service_type.then_some(d.service_type),
            from: start,
            to: end,
        };
        groups.entry(key).or_default().add(&d.totals);
    }
    groups.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn day(merchant: &str, date: &str, ratings: i64, satisfied: i64) -> Day {
        Day {
            merchant_id: merchant.into(),
            category: "c".into(),
            region: "r".into(),
            service_type: 1,
            day: d(date),
            totals: Totals {
                ratings,
                satisfied,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_platforms_day_is_utc_plus_eight() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T16:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(day_of(t), d("2026-03-02"));
        assert_eq!(day_of(t - Duration::seconds(1)), d("2026-03-01"));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first_clipped_to_the_span() {
        assert_eq!(Period::Week.start(d("2026-03-08")), d("2026-03-02"));
        assert_eq!(Period::Month.end(d("2026-12-01")), d("2027-01-01"));
        let days = [
            day("m1", "2026-02-27", 2, 1),
            day("m1", "2026-03-02", 4, 4),
            day("m2", "2026-03-03", 1, 0),
        ];
        let by = GroupBy {
            merchant: true,
            period: Some(Period::Month),
            ..Default::default()
        };
        let g = group(&days, by, (d("2026-02-26"), d("2026-03-10")));
        let got: Vec<_> = g
            .iter()
            .map(|(k, t)| (k.merchant_id.clone().unwrap(), k.from, k.to, t.ratings))
            .collect();
        assert_eq!(
            got,
            [
                ("m1".into(), d("2026-02-26"), d("2026-03-01"), 2),
                ("m1".into(), d("2026-03-01"), d("2026-03-10"), 4),
                ("m2".into(), d("2026-03-01"), d("2026-03-10"), 1),
            ]
        );
        let all = group(
            &days,
            GroupBy::default(),
            (d("2026-02-26"), d("2026-03-10")),
        );
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.csat(), Some(5.0 / 7.0));
    }
}
