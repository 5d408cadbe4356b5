//! Holiday schedules: the TOML data format, and loading a year with its checks.

use chrono::{Datelike, FixedOffset, NaiveDate};
use serde::Deserialize;

use crate::day::is_weekend;
use crate::{BusinessCalendar, CalendarError, Year};

/// One day off of a public holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// The day off.
    pub date: NaiveDate,
    /// The holiday's name, e.g. "Spring Festival".
    pub name: String,
}

/// The schedule of one year as loaded, e.g. to show an operator what is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    /// The calendar year.
    pub year: i32,
    /// Every day off, in date order.
    pub holidays: Vec<Holiday>,
    /// The Saturdays and Sundays that are worked, in date order.
    pub makeup_working_days: Vec<NaiveDate>,
}

/// The file: holidays are written as periods because that is how they are published.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    zone: String,
    #[serde(default)]
    years: Vec<FileYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileYear {
    year: i32,
    #[serde(default)]
    holidays: Vec<FilePeriod>,
    #[serde(default)]
    makeup_working_days: Vec<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePeriod {
    name: String,
    first: NaiveDate,
    last: NaiveDate,
}

impl BusinessCalendar {
    /// Parses a calendar in the format of `data/cn.toml`, applying the checks of
    /// [`set_year`](Self::set_year) to every year.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let file: File = toml::from_str(text)?;
        let zone: FixedOffset = file
            .zone
            .parse()
            .map_err(|_| CalendarError::Zone(file.zone))?;
        let mut calendar = Self::new(zone);
        for year in file.years {
            if calendar.has_year(year.year) {
                return Err(CalendarError::DuplicateYear(year.year));
            }
            let mut holidays = Vec::new();
            for period in year.holidays {
                if period.last < period.first {
                    return Err(CalendarError::ReversedPeriod {
                        name: period.name,
                        first: period.first,
                        last: period.last,
                    });
                }
                holidays.extend(
                    period
                        .first
                        .iter_days()
                        .take_while(|d| *d <= period.last)
                        .map(|date| Holiday {
                            date,
                            name: period.name.clone(),
                        }),
                );
            }
            calendar.set_year(year.year, holidays, year.makeup_working_days)?;
        }
        Ok(calendar)
    }

    /// Sets (or replaces) the schedule of `year`, e.g. when the State Council publishes
    /// the next year's arrangements. On error the calendar is unchanged.
    pub fn set_year(
        &mut self,
        year: i32,
        holidays: Vec<Holiday>,
        makeup_working_days: Vec<NaiveDate>,
    ) -> Result<(), CalendarError> {
        let in_year = |date: NaiveDate| {
            if date.year() == year {
                Ok(())
            } else {
                Err(CalendarError::OutsideYear { year, date })
            }
        };
        let mut checked = Year::default();
        for Holiday { date, name } in holidays {
            in_year(date)?;
            if checked.holidays.insert(date, name).is_some() {
                return Err(CalendarError::Duplicate(date));
            }
        }
        for date in makeup_working_days {
            in_year(date)?;
            // A weekday is already worked; listing it is a typo in the data.
            if !is_weekend(date) {
                return Err(CalendarError::MakeUpNotWeekend(date));
            }
            if checked.holidays.contains_key(&date) {
                return Err(CalendarError::HolidayAndMakeUp(date));
            }
            if !checked.makeup.insert(date) {
                return Err(CalendarError::Duplicate(date));
            }
        }
        self.years.insert(year, checked);
        Ok(())
    }

    /// The schedule in force for `year`, or `None` if it has no data.
    pub fn schedule(&self, year: i32) -> Option<YearSchedule> {
        let data = self.years.get(&year)?;
        Some(YearSchedule {
            year,
            holidays: data
                .holidays
                .iter()
                .map(|(date, name)| Holiday {
                    date: *date,
                    name: name.clone(),
                })
                .collect(),
            makeup_working_days: data.makeup.iter().copied().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DayKind;

    /// Whether an error is the one a case expects.
    type Check = fn(&CalendarError) -> bool;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn holiday(date: NaiveDate, name: &str) -> Holiday {
        Holiday {
            date,
            name: name.into(),
        }
    }

    #[test]
    fn set_year_refuses_bad_data_and_leaves_the_calendar_unchanged() {
        // 2027-01-01 is a Friday, 01-02 a Saturday, 01-04 a Monday.
        let ny = |date| vec![holiday(date, "New Year's Day")];
        let cases: Vec<(&str, Vec<Holiday>, Vec<NaiveDate>, Check)> = vec![
            (
                "holiday in another year",
                ny(d(2026, 12, 31)),
                vec![],
                |e| matches!(e, CalendarError::OutsideYear { year: 2027, date } if *date == d(2026, 12, 31)),
            ),
            (
                "make-up day in another year",
                vec![],
                vec![d(2028, 1, 1)],
                |e| matches!(e, CalendarError::OutsideYear { year: 2027, .. }),
            ),
            (
                "make-up day on a weekday",
                vec![],
                vec![d(2027, 1, 4)],
                |e| matches!(e, CalendarError::MakeUpNotWeekend(date) if *date == d(2027, 1, 4)),
            ),
            (
                "holiday and make-up day",
                ny(d(2027, 1, 2)),
                vec![d(2027, 1, 2)],
                |e| matches!(e, CalendarError::HolidayAndMakeUp(date) if *date == d(2027, 1, 2)),
            ),
            (
                "holiday twice",
                vec![holiday(d(2027, 1, 1), "a"), holiday(d(2027, 1, 1), "b")],
                vec![],
                |e| matches!(e, CalendarError::Duplicate(date) if *date == d(2027, 1, 1)),
            ),
            (
                "make-up day twice",
                vec![],
                vec![d(2027, 1, 9), d(2027, 1, 9)],
                |e| matches!(e, CalendarError::Duplicate(date) if *date == d(2027, 1, 9)),
            ),
        ];
        for (what, holidays, makeup, expected) in cases {
            let mut calendar = BusinessCalendar::china_mainland();
            let before = calendar.clone();
            let err = calendar.set_year(2027, holidays, makeup).unwrap_err();
            assert!(expected(&err), "{what}: got {err:?}");
            assert_eq!(calendar, before, "{what}: calendar changed");
        }
    }

    #[test]
    fn a_year_loaded_at_run_time_takes_effect() {
        let mut calendar = BusinessCalendar::china_mainland();
        assert!(calendar.day_kind(d(2027, 1, 1)).fallback);

        calendar
            .set_year(
                2027,
                vec![holiday(d(2027, 1, 1), "New Year's Day")],
                vec![d(2027, 1, 9)],
            )
            .unwrap();

        assert_eq!(calendar.years(), vec![2025, 2026, 2027]);
        let kind = |date| calendar.day_kind(date);
        assert_eq!(
            kind(d(2027, 1, 1)),
            crate::Lookup {
                kind: DayKind::Holiday {
                    name: "New Year's Day".into()
                },
                fallback: false
            }
        );
        assert_eq!(kind(d(2027, 1, 9)).kind, DayKind::MakeUpWorkday);
        assert_eq!(kind(d(2027, 1, 4)).kind, DayKind::Working);
        assert_eq!(kind(d(2027, 1, 10)).kind, DayKind::Weekend);
        assert!(!kind(d(2027, 12, 31)).fallback);

        // Thu 31 Dec (1), Fri 1 Jan now a holiday, Mon 4 (2), Tue 5 (3); nothing assumed.
        let start = d(2026, 12, 30).and_hms_opt(2, 0, 0).unwrap().and_utc();
        let deadline = calendar.add_working_days(start, 3);
        assert_eq!(
            deadline.value,
            d(2027, 1, 5).and_hms_opt(16, 0, 0).unwrap().and_utc()
        );
        assert!(deadline.fallback_years.is_empty());
        assert_eq!(
            calendar.schedule(2027),
            Some(YearSchedule {
                year: 2027,
                holidays: vec![holiday(d(2027, 1, 1), "New Year's Day")],
                makeup_working_days: vec![d(2027, 1, 9)],
            })
        );
    }

    #[test]
    fn set_year_replaces_a_year() {
        let mut calendar = BusinessCalendar::china_mainland();
        // Mon 16 Feb 2026 is in the Spring Festival until the year is replaced.
        assert!(!calendar.is_working_day(d(2026, 2, 16)));
        calendar.set_year(2026, vec![], vec![]).unwrap();
        assert!(calendar.is_working_day(d(2026, 2, 16)));
        assert!(!calendar.is_working_day(d(2026, 2, 14)));
        assert!(!calendar.day_kind(d(2026, 2, 16)).fallback);
    }

    #[test]
    fn the_embedded_china_calendar_loads() {
        let calendar = BusinessCalendar::china_mainland();
        assert_eq!(calendar.years(), vec![2025, 2026]);
        assert_eq!(calendar.zone(), FixedOffset::east_opt(8 * 3600).unwrap());
        assert!(calendar.has_year(2026) && !calendar.has_year(2027));
        assert_eq!(calendar.schedule(2024), None);
        let s2026 = calendar.schedule(2026).unwrap();
        assert_eq!(s2026.makeup_working_days.len(), 6);
        assert_eq!(s2026.holidays.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
    }

    #[test]
    fn from_toml_expands_periods() {
        let calendar = BusinessCalendar::from_toml(
            r#"
            zone = "-05:00"
            [[years]]
            year = 2030
            holidays = [{ name = "Break", first = "2030-12-30", last = "2030-12-31" }]
            makeup_working_days = ["2030-12-28"]
            "#,
        )
        .unwrap();
        assert_eq!(calendar.zone(), FixedOffset::west_opt(5 * 3600).unwrap());
        assert_eq!(
            calendar.schedule(2030).unwrap().holidays,
            vec![
                holiday(d(2030, 12, 30), "Break"),
                holiday(d(2030, 12, 31), "Break")
            ]
        );
        assert!(calendar.is_working_day(d(2030, 12, 28)));

        let empty = BusinessCalendar::from_toml(r#"zone = "+00:00""#).unwrap();
        assert!(empty.years().is_empty());
    }

    #[test]
    fn from_toml_refuses_bad_files() {
        let year = |body: &str| format!("zone = \"+08:00\"\n[[years]]\nyear = 2030\n{body}");
        let cases: Vec<(&str, String, Check)> = vec![
            ("not toml", "zone = ".into(), |e| {
                matches!(e, CalendarError::Parse(_))
            }),
            ("unknown key", year("holiday = []"), |e| {
                matches!(e, CalendarError::Parse(_))
            }),
            (
                "bad date",
                year(r#"makeup_working_days = ["2030-02-30"]"#),
                |e| matches!(e, CalendarError::Parse(_)),
            ),
            (
                "bad zone",
                r#"zone = "Asia/Shanghai""#.into(),
                |e| matches!(e, CalendarError::Zone(z) if z == "Asia/Shanghai"),
            ),
            (
                "year twice",
                format!("{}\n[[years]]\nyear = 2030\n", year("")),
                |e| matches!(e, CalendarError::DuplicateYear(2030)),
            ),
            (
                "reversed period",
                year(r#"holidays = [{ name = "X", first = "2030-01-03", last = "2030-01-01" }]"#),
                |e| matches!(e, CalendarError::ReversedPeriod { name, .. } if name == "X"),
            ),
            (
                "overlapping periods",
                year(
                    r#"holidays = [{ name = "X", first = "2030-01-01", last = "2030-01-03" },
                                   { name = "Y", first = "2030-01-03", last = "2030-01-04" }]"#,
                ),
                |e| matches!(e, CalendarError::Duplicate(_)),
            ),
            (
                "checks of set_year",
                year(r#"makeup_working_days = ["2030-01-02"]"#),
                |e| matches!(e, CalendarError::MakeUpNotWeekend(_)),
            ),
        ];
        for (what, text, expected) in cases {
            let err = BusinessCalendar::from_toml(&text).unwrap_err();
            assert!(expected(&err), "{what}: got {err:?}");
        }
    }
}
