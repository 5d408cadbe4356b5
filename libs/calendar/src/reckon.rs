//! Working-day and working-time arithmetic on instants, decided in the calendar's zone.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::BusinessCalendar;

/// A computed value together with the years it had to assume were weekends-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reckoned<T> {
    /// The result.
    pub value: T,
    /// Years without a schedule that the computation crossed, ascending; non-empty
    /// means the result may be early and the caller should log it and count it.
    pub fallback_years: Vec<i32>,
}

impl<T> Reckoned<T> {
    fn new(value: T, assumed: BTreeSet<i32>) -> Self {
        Self {
            value,
            fallback_years: assumed.into_iter().collect(),
        }
    }
}

impl BusinessCalendar {
    /// The deadline of "within `n` working days" counted from `start`: 24:00 local (that
    /// is 00:00 of the next local day) of the `n`-th working day after `start`'s local
    /// date. The starting day never counts, even when it is a working day or `start`
    /// is at 00:00 (Civil Code art. 201, 203). `n == 0` returns `start` unchanged.
    ///
    /// # Panics
    ///
    /// If the deadline lies beyond chrono's date range (year 262 142).
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> Reckoned<DateTime<Utc>> {
        let mut assumed = BTreeSet::new();
        if n == 0 {
            return Reckoned::new(start, assumed);
        }
        let mut date = self.local_date(start);
        let mut counted = 0;
        while counted < n {
            date = next(date);
            if self.working(date, &mut assumed) {
                counted += 1;
            }
        }
        Reckoned::new(self.day_start(next(date)), assumed)
    }

    /// How much of `[a, b)` falls on working days (local dates); zero if `b <= a`.
    /// This is what a paused timer has left to run.
    pub fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Reckoned<Duration> {
        let mut assumed = BTreeSet::new();
        let mut total = Duration::zero();
        if b <= a {
            return Reckoned::new(total, assumed);
        }
        let mut date = self.local_date(a);
        let last = self.local_date(b);
        loop {
            if self.working(date, &mut assumed) {
                let from = a.max(self.day_start(date));
                let to = b.min(self.day_start(next(date)));
                total += to - from;
            }
            if date == last {
                return Reckoned::new(total, assumed);
            }
            date = next(date);
        }
    }

    /// The earliest instant `t` with `working_time_between(start, t) == d`: spends `d`
    /// of working time from `start`. Time on a non-working day does not count, so from
    /// a holiday the clock starts at 00:00 of the next working day; a `d` that ends
    /// exactly at 24:00 of a working day returns that instant, not the start of the
    /// next working day. `d <= 0` returns `start`.
    ///
    /// # Panics
    ///
    /// If the result lies beyond chrono's date range (year 262 142).
    pub fn add_working_time(&self, start: DateTime<Utc>, d: Duration) -> Reckoned<DateTime<Utc>> {
        let mut assumed = BTreeSet::new();
        if d <= Duration::zero() {
            return Reckoned::new(start, assumed);
        }
        let mut left = d;
        let mut cursor = start;
        let mut date = self.local_date(start);
        loop {
            let end = self.day_start(next(date));
            if self.working(date, &mut assumed) {
                let available = end - cursor;
                if left <= available {
                    return Reckoned::new(cursor + left, assumed);
                }
                left -= available;
            }
            cursor = end;
            date = next(date);
        }
    }

    /// The local date of an instant in the calendar's zone.
    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.zone).date_naive()
    }

    /// The instant at which local `date` begins (00:00 in the calendar's zone).
    fn day_start(&self, date: NaiveDate) -> DateTime<Utc> {
        // A fixed offset has no gaps or folds, so local midnight is a single instant.
        let offset = Duration::seconds(self.zone.local_minus_utc().into());
        (date.and_time(NaiveTime::MIN) - offset).and_utc()
    }
}

fn next(date: NaiveDate) -> NaiveDate {
    date.succ_opt().expect("date within chrono's range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, Timelike};

    /// A Beijing local time "YYYY-MM-DD HH:MM[:SS]" as an instant, to keep tables short.
    fn cn(text: &str) -> DateTime<Utc> {
        let format = if text.len() == 16 {
            "%Y-%m-%d %H:%M"
        } else {
            "%Y-%m-%d %H:%M:%S"
        };
        let local = NaiveDateTime::parse_from_str(text, format).unwrap();
        (local - Duration::hours(8)).and_utc()
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    #[test]
    fn add_working_days() {
        let calendar = BusinessCalendar::china_mainland();
        // (what, start, n, deadline, fallback years); all times Beijing local.
        #[rustfmt::skip]
        let cases: &[(&str, &str, u32, &str, &[i32])] = &[
            // Sat 14 Feb make-up (1), 15-23 Feb Spring Festival, Tue 24 (2), Wed 25 (3).
            ("brief example",            "2026-02-13 17:00",    3, "2026-02-26 00:00", &[]),
            ("n = 0",                    "2026-02-13 17:00",    0, "2026-02-13 17:00", &[]),
            ("n = 0 on a holiday",       "2026-10-03 12:34:56", 0, "2026-10-03 12:34:56", &[]),
            // 1-7 Oct National Day, Thu 8 (1), Fri 9 (2), Sat 10 make-up (3), Mon 12 (4).
            ("over National Day, 1",     "2026-09-30 10:00",    1, "2026-10-09 00:00", &[]),
            ("over National Day, 2",     "2026-09-30 10:00",    2, "2026-10-10 00:00", &[]),
            ("over National Day, 3",     "2026-09-30 10:00",    3, "2026-10-11 00:00", &[]),
            ("over National Day, 4",     "2026-09-30 10:00",    4, "2026-10-13 00:00", &[]),
            ("from a weekend holiday",   "2026-10-03 12:00",    1, "2026-10-09 00:00", &[]),
            ("from a weekday holiday",   "2026-02-17 09:00",    1, "2026-02-25 00:00", &[]),
            ("from the last holiday",    "2026-02-23 23:00",    1, "2026-02-25 00:00", &[]),
            // The make-up day itself does not count: it is the starting day.
            ("from a make-up day",       "2026-02-14 10:00",    1, "2026-02-25 00:00", &[]),
            ("from make-up Sat 28 Feb",  "2026-02-28 10:00",    1, "2026-03-03 00:00", &[]),
            // Fri 13 Feb is the starting day however early or late; Sat 14 is make-up.
            ("at local midnight",        "2026-02-13 00:00",    1, "2026-02-15 00:00", &[]),
            ("at 23:59:59 local",        "2026-02-13 23:59:59", 1, "2026-02-15 00:00", &[]),
            ("plain Fri 23:59:59",       "2026-03-06 23:59:59", 1, "2026-03-10 00:00", &[]),
            ("plain Sat 00:00",          "2026-03-07 00:00",    1, "2026-03-10 00:00", &[]),
            // 00:00 Thu 26 opens the starting day, so Fri 27 is the first.
            ("from a deadline",          "2026-02-26 00:00",    1, "2026-02-28 00:00", &[]),
            // 1-5 May off, Wed 6 (1), Thu 7 (2), Fri 8 (3), Sat 9 make-up (4), Mon 11 (5)..Wed 13 (7).
            ("7 over Labour Day 2026",   "2026-04-30 15:00",    7, "2026-05-14 00:00", &[]),
            // Sun 27 Apr make-up (1), 28-30 Apr (2-4), 1-5 May off, Tue 6 (5)..Thu 8 (7).
            ("7 over Labour Day 2025",   "2025-04-25 10:00",    7, "2025-05-09 00:00", &[]),
            // Sun 26 Jan make-up (1), Mon 27 (2), then 28 Jan - 4 Feb off, Wed 5 (3).
            ("before Spring 2025",       "2025-01-24 18:00",    2, "2025-01-28 00:00", &[]),
            ("over Spring 2025",         "2025-01-24 18:00",    3, "2025-02-06 00:00", &[]),
            // 1-3 Jan 2026 off, Sun 4 Jan make-up (1).
            ("into New Year 2026",       "2025-12-31 10:00",    1, "2026-01-05 00:00", &[]),
            // Thu 31 Dec (1); 2027 has no data: Fri 1 Jan counts (2), Mon 4 Jan (3).
            ("into a year without data", "2026-12-30 10:00",    3, "2027-01-05 00:00", &[2027]),
            // Only the starting day is in 2024, and it is never consulted.
            ("from a year without data", "2024-12-31 10:00",    1, "2025-01-03 00:00", &[]),
            ("wholly without data",      "2030-01-04 10:00",    1, "2030-01-08 00:00", &[2030]),
        ];
        for (what, start, n, deadline, fallback) in cases {
            let expected = Reckoned {
                value: cn(deadline),
                fallback_years: fallback.to_vec(),
            };
            assert_eq!(calendar.add_working_days(cn(start), *n), expected, "{what}");
        }
    }

    #[test]
    fn add_working_days_in_utc_terms() {
        let calendar = BusinessCalendar::china_mainland();
        let utc = |text| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        // The brief's example: Fri 13 Feb 2026 17:00 +08 is 09:00Z.
        let deadline = calendar.add_working_days(utc("2026-02-13T09:00:00Z"), 3);
        assert_eq!(deadline.value, utc("2026-02-25T16:00:00Z"));
        // 16:00Z on Thu 12 Feb is 00:00 Fri 13 Feb in Beijing: Fri is the starting day.
        let deadline = calendar.add_working_days(utc("2026-02-12T16:00:00Z"), 1);
        assert_eq!(deadline.value, utc("2026-02-14T16:00:00Z"));
        // One second earlier is still Thu 12 Feb in Beijing.
        let deadline = calendar.add_working_days(utc("2026-02-12T15:59:59Z"), 1);
        assert_eq!(deadline.value, utc("2026-02-13T16:00:00Z"));
    }

    #[test]
    fn working_time_between() {
        let calendar = BusinessCalendar::china_mainland();
        // (what, a, b, working time, fallback years); all times Beijing local.
        #[rustfmt::skip]
        let cases: &[(&str, &str, &str, Duration, &[i32])] = &[
            ("one working day",        "2026-03-04 09:00", "2026-03-04 17:30", Duration::minutes(510), &[]),
            ("empty",                  "2026-03-04 09:00", "2026-03-04 09:00", hours(0), &[]),
            ("reversed",               "2026-03-04 17:00", "2026-03-04 09:00", hours(0), &[]),
            ("whole working day",      "2026-03-04 00:00", "2026-03-05 00:00", hours(24), &[]),
            // Fri 18:00-24:00 and Mon 00:00-09:00.
            ("across a weekend",       "2026-03-06 18:00", "2026-03-09 09:00", hours(15), &[]),
            // Wed 30 Sep 20:00-24:00 and Thu 8 Oct 00:00-02:00.
            ("across National Day",    "2026-09-30 20:00", "2026-10-08 02:00", hours(6), &[]),
            // Fri 13 Feb 2h, make-up Sat 14 Feb 24h, Tue 24 Feb 1h.
            ("across Spring Festival", "2026-02-13 22:00", "2026-02-24 01:00", hours(27), &[]),
            ("from a Saturday",        "2026-03-07 10:00", "2026-03-09 10:00", hours(10), &[]),
            ("from a holiday",         "2026-10-05 10:00", "2026-10-08 10:00", hours(10), &[]),
            ("within a holiday",       "2026-10-02 10:00", "2026-10-06 10:00", hours(0), &[]),
            ("into 2027",              "2026-12-31 12:00", "2027-01-01 12:00", hours(24), &[2027]),
            // 00:00 Sat only ends Friday; Saturday's year is not consulted.
            ("to a midnight",          "2026-03-06 12:00", "2026-03-07 00:00", hours(12), &[]),
        ];
        for (what, a, b, time, fallback) in cases {
            let expected = Reckoned {
                value: *time,
                fallback_years: fallback.to_vec(),
            };
            assert_eq!(
                calendar.working_time_between(cn(a), cn(b)),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn add_working_time() {
        let calendar = BusinessCalendar::china_mainland();
        let one_second = Duration::seconds(1);
        // (what, start, working time, end, fallback years); all times Beijing local.
        #[rustfmt::skip]
        let cases: &[(&str, &str, Duration, &str, &[i32])] = &[
            ("zero",                "2026-10-03 10:00", hours(0), "2026-10-03 10:00", &[]),
            ("negative",            "2026-03-04 10:00", hours(-5), "2026-03-04 10:00", &[]),
            ("within a day",        "2026-03-04 09:00", Duration::minutes(510), "2026-03-04 17:30", &[]),
            // The clock starts at 00:00 of the next working day.
            ("from a Saturday",     "2026-03-07 10:00", hours(1), "2026-03-09 01:00", &[]),
            ("from a holiday",      "2026-10-01 00:00", hours(30), "2026-10-09 06:00", &[]),
            ("over National Day",   "2026-09-30 20:00", hours(6), "2026-10-08 02:00", &[]),
            // Ends exactly at 24:00 of Wed 30 Sep: the earliest such instant.
            ("to the end of a day", "2026-09-30 20:00", hours(4), "2026-10-01 00:00", &[]),
            ("just past it",        "2026-09-30 20:00", hours(4) + one_second, "2026-10-08 00:00:01", &[]),
            ("over a make-up day",  "2026-02-13 22:00", hours(27), "2026-02-24 01:00", &[]),
            ("into 2027",           "2026-12-31 12:00", hours(24), "2027-01-01 12:00", &[2027]),
        ];
        for (what, start, time, end, fallback) in cases {
            let expected = Reckoned {
                value: cn(end),
                fallback_years: fallback.to_vec(),
            };
            assert_eq!(
                calendar.add_working_time(cn(start), *time),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn pause_and_resume_keeps_the_working_time_left() {
        let calendar = BusinessCalendar::china_mainland();
        let deadline = calendar.add_working_days(cn("2026-02-13 17:00"), 3).value;
        // Paused on Fri 13 Feb 20:00: 4h of Friday, the make-up Saturday, Tue 24 and
        // Wed 25 Feb are left.
        let left = calendar.working_time_between(cn("2026-02-13 20:00"), deadline);
        assert_eq!(left.value, hours(76));
        // Resumed on Mon 2 Mar 10:00: 14h + 24h + 24h, then 14h into Thu 5 Mar.
        let resumed = calendar.add_working_time(cn("2026-03-02 10:00"), left.value);
        assert_eq!(resumed.value, cn("2026-03-05 14:00"));
    }

    /// A small deterministic generator (64-bit LCG), so the property tests need no crate.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: i64) -> i64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as i64
        }

        /// An instant from Dec 2024 to early 2028, at local midnight one time in four
        /// because day boundaries are where the arithmetic can be off by one.
        fn instant(&mut self, calendar: &BusinessCalendar) -> DateTime<Utc> {
            let t = cn("2024-12-01 00:00") + Duration::seconds(self.below(3 * 366 * 86_400));
            if self.below(4) == 0 {
                calendar.day_start(calendar.local_date(t))
            } else {
                t
            }
        }
    }

    #[test]
    fn working_time_round_trips_and_is_monotonic() {
        let calendar = BusinessCalendar::china_mainland();
        let mut rng = Lcg(42);
        for _ in 0..3000 {
            let a = rng.instant(&calendar);
            let b = a + Duration::seconds(rng.below(40 * 86_400));
            let c = b + Duration::seconds(rng.below(10 * 86_400));
            let between = |x, y| calendar.working_time_between(x, y).value;
            let (w_ab, w_ac) = (between(a, b), between(a, c));
            assert!(w_ab >= Duration::zero() && w_ab <= b - a, "{a} {b}");
            assert_eq!(w_ab + between(b, c), w_ac, "additive: {a} {b} {c}");

            let t = calendar.add_working_time(a, w_ab).value;
            let local = b.with_timezone(&calendar.zone);
            let (date, midnight) = (local.date_naive(), local.time() == NaiveTime::MIN);
            let inside_working_day = !midnight && calendar.is_working_day(date);
            let ends_working_day = midnight && calendar.is_working_day(date.pred_opt().unwrap());
            if inside_working_day || ends_working_day {
                assert_eq!(t, b, "round trip: {a} {b}");
            } else {
                // b is in non-working time: t is where the working time before it ended.
                assert!(t <= b && between(t, b).is_zero(), "{a} {b} {t}");
            }
            assert_eq!(between(a, t), w_ab, "{a} {b}");
            // More working time never ends earlier.
            assert!(calendar.add_working_time(a, w_ac).value >= t, "{a} {b} {c}");
        }
    }

    #[test]
    fn working_day_deadlines_end_the_nth_working_day() {
        let calendar = BusinessCalendar::china_mainland();
        let mut rng = Lcg(7);
        for _ in 0..2000 {
            let start = rng.instant(&calendar);
            let n = rng.below(15) as u32;
            let deadline = calendar.add_working_days(start, n).value;
            if n == 0 {
                assert_eq!(deadline, start);
                continue;
            }
            let local = deadline.with_timezone(&calendar.zone);
            assert_eq!((local.hour(), local.minute(), local.second()), (0, 0, 0));
            let last = local.date_naive().pred_opt().unwrap();
            assert!(calendar.is_working_day(last), "{start} {n}");
            let first = calendar.local_date(start).succ_opt().unwrap();
            let counted = first
                .iter_days()
                .take_while(|x| *x <= last)
                .filter(|x| calendar.is_working_day(*x))
                .count();
            assert_eq!(counted, n as usize, "{start} {n}");
            // One more day never comes earlier.
            assert!(calendar.add_working_days(start, n + 1).value > deadline);
        }
    }
}
