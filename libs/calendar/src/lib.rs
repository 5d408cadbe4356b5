//! Business calendars and working-day arithmetic for the SLA timer service.
//!
//! A [`BusinessCalendar`] knows, per year, the public holidays and the make-up working
//! days (调休上班: a Saturday or Sunday that is worked), and the zone in which a day is
//! decided. The mainland China schedule published by the State Council ships in
//! `data/cn.toml` ([`BusinessCalendar::china_mainland`]); an operator loads a newly
//! published year at run time with [`BusinessCalendar::set_year`].
//!
//! # Counting working days
//!
//! Deadlines such as "within 3 working days" follow the PRC Civil Code, art. 201 and
//! 203: the day on which the period starts is not counted, the period runs from the
//! next day, and its last day ends at 24:00. So
//! [`add_working_days(start, n)`](BusinessCalendar::add_working_days) returns 00:00
//! (local) of the day after the n-th working day after the local date of `start`,
//! whatever the time of day of `start`. An instant at exactly 00:00 belongs to the day
//! it opens. Example: 3 working days after Fri 13 Feb 2026 17:00 (+08): Sat 14 Feb is a
//! make-up working day (1), 15-23 Feb are the Spring Festival, Tue 24 (2), Wed 25 (3),
//! so the deadline is Thu 26 Feb 2026 00:00 +08.
//!
//! ```
//! use calendar::BusinessCalendar;
//! use chrono::{DateTime, Utc};
//!
//! let cn = BusinessCalendar::china_mainland();
//! let start: DateTime<Utc> = "2026-02-13T17:00:00+08:00".parse().unwrap();
//! let deadline = cn.add_working_days(start, 3);
//! assert_eq!(deadline.value, "2026-02-26T00:00:00+08:00".parse::<DateTime<Utc>>().unwrap());
//! assert!(deadline.fallback_years.is_empty());
//! ```
//!
//! # Counting working time
//!
//! A paused timer keeps the working time it had left, not a number of days:
//! [`working_time_between`](BusinessCalendar::working_time_between) measures the part of
//! `[a, b)` that falls on working days and
//! [`add_working_time`](BusinessCalendar::add_working_time) spends such an amount
//! again from a new start. The two are inverse whenever the end lies inside a working
//! day or at the end (24:00) of one.
//!
//! # Years without data
//!
//! A date in a year for which no schedule is loaded is decided by weekends alone. The
//! answer says so ([`Lookup::fallback`], [`Reckoned::fallback_years`]) so the caller can
//! log it and count it in a metric: a missing year means somebody forgot to load the
//! State Council's notice.

mod day;
mod error;
mod reckon;
mod schedule;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{FixedOffset, NaiveDate};

pub use day::{DayKind, Lookup};
pub use error::CalendarError;
pub use reckon::Reckoned;
pub use schedule::{Holiday, YearSchedule};

/// A business calendar: the zone days are decided in and the holiday schedule per year.
///
/// It is a plain value; a service that updates it at run time keeps it behind a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    zone: FixedOffset,
    years: BTreeMap<i32, Year>,
}

/// The validated schedule of one year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Year {
    holidays: BTreeMap<NaiveDate, String>,
    makeup: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// A calendar with no holiday data: every date falls back to weekends only.
    pub fn new(zone: FixedOffset) -> Self {
        Self {
            zone,
            years: BTreeMap::new(),
        }
    }

    /// The mainland China calendar (UTC+8) with the schedules shipped in `data/cn.toml`.
    pub fn china_mainland() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        Self::from_toml(include_str!("../data/cn.toml")).expect("data/cn.toml is valid")
    }

    /// The zone in which a date, and so a working day, is decided.
    pub fn zone(&self) -> FixedOffset {
        self.zone
    }

    /// The years that have a holiday schedule, in ascending order.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `year` has a holiday schedule (if not, its dates fall back to weekends only).
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }
}
