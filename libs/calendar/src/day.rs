//! What kind of day a date is: working, weekend, holiday or make-up working day.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::BusinessCalendar;

/// The kind of a calendar date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// A Monday to Friday that is not a holiday.
    Working,
    /// A Saturday or Sunday that is not a holiday or a make-up working day.
    Weekend,
    /// A day off of a public holiday period (weekend days inside the period included).
    Holiday {
        /// The holiday's name, e.g. "Spring Festival".
        name: String,
    },
    /// A Saturday or Sunday worked in exchange for a day off next to a holiday.
    MakeUpWorkday,
}

impl DayKind {
    /// Whether work is done on this kind of day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::MakeUpWorkday)
    }
}

/// The answer to "what kind of day is this date", with whether it had to be assumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The kind of the day.
    pub kind: DayKind,
    /// True when the date's year has no schedule and only weekends were considered;
    /// the caller should log it and count it.
    pub fallback: bool,
}

impl BusinessCalendar {
    /// The kind of `date`, and whether its year lacked data.
    pub fn day_kind(&self, date: NaiveDate) -> Lookup {
        let Some(year) = self.years.get(&date.year()) else {
            return Lookup {
                kind: weekday_kind(date),
                fallback: true,
            };
        };
        let kind = if let Some(name) = year.holidays.get(&date) {
            DayKind::Holiday { name: name.clone() }
        } else if year.makeup.contains(&date) {
            DayKind::MakeUpWorkday
        } else {
            weekday_kind(date)
        };
        Lookup {
            kind,
            fallback: false,
        }
    }

    /// Whether `date` is a working day (by weekends alone if its year lacks data).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).kind.is_working()
    }

    /// Like [`is_working_day`](Self::is_working_day) without allocating a holiday name,
    /// noting in `assumed` each year that lacked data; the arithmetic's inner loop.
    pub(crate) fn working(&self, date: NaiveDate, assumed: &mut BTreeSet<i32>) -> bool {
        match self.years.get(&date.year()) {
            Some(year) => {
                year.makeup.contains(&date)
                    || (!year.holidays.contains_key(&date) && !is_weekend(date))
            }
            None => {
                assumed.insert(date.year());
                !is_weekend(date)
            }
        }
    }
}

pub(crate) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_kind(date: NaiveDate) -> DayKind {
    if is_weekend(date) {
        DayKind::Weekend
    } else {
        DayKind::Working
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The State Council's schedule, written out again independently of `data/cn.toml`:
    /// (year, [(name, first day off, last day off)], [make-up working days]).
    type Official = (
        i32,
        &'static [(&'static str, (u32, u32), (u32, u32))],
        &'static [(u32, u32)],
    );
    const OFFICIAL: [Official; 2] = [
        (
            2025,
            &[
                ("New Year's Day", (1, 1), (1, 1)),
                ("Spring Festival", (1, 28), (2, 4)),
                ("Qingming Festival", (4, 4), (4, 6)),
                ("Labour Day", (5, 1), (5, 5)),
                ("Dragon Boat Festival", (5, 31), (6, 2)),
                ("National Day and Mid-Autumn Festival", (10, 1), (10, 8)),
            ],
            &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)],
        ),
        (
            2026,
            &[
                ("New Year's Day", (1, 1), (1, 3)),
                ("Spring Festival", (2, 15), (2, 23)),
                ("Qingming Festival", (4, 4), (4, 6)),
                ("Labour Day", (5, 1), (5, 5)),
                ("Dragon Boat Festival", (6, 19), (6, 21)),
                ("Mid-Autumn Festival", (9, 25), (9, 27)),
                ("National Day", (10, 1), (10, 7)),
            ],
            &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)],
        ),
    ];

    fn expected_kind(date: NaiveDate) -> DayKind {
        let (year, holidays, makeup) = OFFICIAL.iter().find(|o| o.0 == date.year()).unwrap();
        for (name, (m1, d1), (m2, d2)) in holidays.iter() {
            if (d(*year, *m1, *d1)..=d(*year, *m2, *d2)).contains(&date) {
                return DayKind::Holiday {
                    name: name.to_string(),
                };
            }
        }
        if makeup.iter().any(|(m, day)| d(*year, *m, *day) == date) {
            DayKind::MakeUpWorkday
        } else {
            weekday_kind(date)
        }
    }

    #[test]
    fn every_day_of_2025_and_2026_matches_the_official_schedule() {
        let calendar = BusinessCalendar::china_mainland();
        for year in [2025, 2026] {
            for date in d(year, 1, 1).iter_days().take_while(|x| x.year() == year) {
                let expected = expected_kind(date);
                assert_eq!(
                    calendar.day_kind(date),
                    Lookup {
                        kind: expected.clone(),
                        fallback: false
                    },
                    "{date}"
                );
                assert_eq!(
                    calendar.is_working_day(date),
                    expected.is_working(),
                    "{date}"
                );
                assert_eq!(
                    calendar.working(date, &mut BTreeSet::new()),
                    expected.is_working()
                );
            }
        }
    }

    #[test]
    fn key_dates() {
        use DayKind::*;
        let calendar = BusinessCalendar::china_mainland();
        let h = |name: &str| Holiday { name: name.into() };
        // (date, its weekday, kind): the weekday guards the table against typos.
        let cases = [
            // 2026
            (d(2026, 1, 1), Weekday::Thu, h("New Year's Day")),
            (d(2026, 1, 3), Weekday::Sat, h("New Year's Day")),
            (d(2026, 1, 4), Weekday::Sun, MakeUpWorkday),
            (d(2026, 1, 5), Weekday::Mon, Working),
            (d(2026, 2, 13), Weekday::Fri, Working),
            (d(2026, 2, 14), Weekday::Sat, MakeUpWorkday),
            (d(2026, 2, 15), Weekday::Sun, h("Spring Festival")),
            (d(2026, 2, 16), Weekday::Mon, h("Spring Festival")),
            (d(2026, 2, 23), Weekday::Mon, h("Spring Festival")),
            (d(2026, 2, 24), Weekday::Tue, Working),
            (d(2026, 2, 28), Weekday::Sat, MakeUpWorkday),
            (d(2026, 3, 1), Weekday::Sun, Weekend),
            (d(2026, 4, 4), Weekday::Sat, h("Qingming Festival")),
            (d(2026, 4, 6), Weekday::Mon, h("Qingming Festival")),
            (d(2026, 5, 1), Weekday::Fri, h("Labour Day")),
            (d(2026, 5, 5), Weekday::Tue, h("Labour Day")),
            (d(2026, 5, 9), Weekday::Sat, MakeUpWorkday),
            (d(2026, 5, 10), Weekday::Sun, Weekend),
            (d(2026, 6, 19), Weekday::Fri, h("Dragon Boat Festival")),
            (d(2026, 9, 20), Weekday::Sun, MakeUpWorkday),
            (d(2026, 9, 25), Weekday::Fri, h("Mid-Autumn Festival")),
            (d(2026, 9, 30), Weekday::Wed, Working),
            (d(2026, 10, 1), Weekday::Thu, h("National Day")),
            (d(2026, 10, 7), Weekday::Wed, h("National Day")),
            (d(2026, 10, 8), Weekday::Thu, Working),
            (d(2026, 10, 10), Weekday::Sat, MakeUpWorkday),
            (d(2026, 10, 11), Weekday::Sun, Weekend),
            (d(2026, 12, 31), Weekday::Thu, Working),
            // 2025
            (d(2025, 1, 1), Weekday::Wed, h("New Year's Day")),
            (d(2025, 1, 26), Weekday::Sun, MakeUpWorkday),
            (d(2025, 1, 28), Weekday::Tue, h("Spring Festival")),
            (d(2025, 2, 4), Weekday::Tue, h("Spring Festival")),
            (d(2025, 2, 8), Weekday::Sat, MakeUpWorkday),
            (d(2025, 4, 4), Weekday::Fri, h("Qingming Festival")),
            (d(2025, 4, 27), Weekday::Sun, MakeUpWorkday),
            (d(2025, 5, 5), Weekday::Mon, h("Labour Day")),
            (d(2025, 5, 31), Weekday::Sat, h("Dragon Boat Festival")),
            (d(2025, 6, 2), Weekday::Mon, h("Dragon Boat Festival")),
            (d(2025, 9, 28), Weekday::Sun, MakeUpWorkday),
            (
                d(2025, 10, 6),
                Weekday::Mon,
                h("National Day and Mid-Autumn Festival"),
            ),
            (
                d(2025, 10, 8),
                Weekday::Wed,
                h("National Day and Mid-Autumn Festival"),
            ),
            (d(2025, 10, 11), Weekday::Sat, MakeUpWorkday),
            (d(2025, 10, 12), Weekday::Sun, Weekend),
        ];
        for (date, weekday, kind) in cases {
            assert_eq!(date.weekday(), weekday, "{date}");
            assert_eq!(calendar.day_kind(date).kind, kind, "{date}");
        }
    }

    #[test]
    fn both_years_have_248_working_days() {
        let calendar = BusinessCalendar::china_mainland();
        for (year, holidays, makeup) in OFFICIAL {
            let days: Vec<_> = d(year, 1, 1)
                .iter_days()
                .take_while(|x| x.year() == year)
                .collect();
            let counted = days.iter().filter(|x| calendar.is_working_day(**x)).count();

            // The same total the long way: 365 days, less weekends, less the holidays
            // that fall on a weekday, plus the make-up days.
            let weekends = days.iter().filter(|x| is_weekend(**x)).count();
            let holidays_on_weekdays = holidays
                .iter()
                .flat_map(|(_, (m1, d1), (m2, d2))| {
                    let last = d(year, *m2, *d2);
                    d(year, *m1, *d1)
                        .iter_days()
                        .take_while(move |x| *x <= last)
                })
                .filter(|x| !is_weekend(*x))
                .count();
            assert_eq!((days.len(), weekends), (365, 104), "{year}");
            assert_eq!(
                days.len() - weekends - holidays_on_weekdays + makeup.len(),
                counted
            );

            // 261 weekdays less the 13 statutory days off; the borrowed weekdays are
            // paid back by the make-up days.
            assert_eq!(counted, 248, "{year}");
        }
    }

    #[test]
    fn a_year_without_data_falls_back_to_weekends_and_says_so() {
        let calendar = BusinessCalendar::china_mainland();
        // 1 Jan 2027 will surely be a holiday, but nobody has loaded 2027 yet.
        let cases = [
            (d(2027, 1, 1), DayKind::Working),
            (d(2027, 1, 2), DayKind::Weekend),
            (d(2024, 10, 1), DayKind::Working),
        ];
        for (date, kind) in cases {
            assert_eq!(
                calendar.day_kind(date),
                Lookup {
                    kind,
                    fallback: true
                },
                "{date}"
            );
        }
        let mut assumed = BTreeSet::new();
        assert!(calendar.working(d(2027, 1, 1), &mut assumed));
        assert!(!calendar.working(d(2026, 1, 1), &mut assumed));
        assert_eq!(assumed, BTreeSet::from([2027]));
    }
}
