//! The error of loading or changing a calendar's data.

use chrono::NaiveDate;

/// Why calendar data was refused; the calendar is left unchanged.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The data is not TOML of the expected shape.
    #[error("calendar data is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// The zone is not a UTC offset such as `+08:00`.
    #[error("zone {0:?} is not a UTC offset such as \"+08:00\"")]
    Zone(String),
    /// The same year appears twice in one file.
    #[error("year {0} is given twice")]
    DuplicateYear(i32),
    /// A holiday period ends before it starts.
    #[error("holiday {name:?} ends on {last}, before it starts on {first}")]
    ReversedPeriod {
        /// The holiday's name.
        name: String,
        /// The first day given.
        first: NaiveDate,
        /// The last day given.
        last: NaiveDate,
    },
    /// A date given for a year lies in another year.
    #[error("{date} does not belong to year {year}")]
    OutsideYear {
        /// The year being set.
        year: i32,
        /// The offending date.
        date: NaiveDate,
    },
    /// A make-up working day falls on a weekday, where it would change nothing.
    #[error("make-up working day {0} is not a Saturday or Sunday")]
    MakeUpNotWeekend(NaiveDate),
    /// A date is given both as a holiday and as a make-up working day.
    #[error("{0} is both a holiday and a make-up working day")]
    HolidayAndMakeUp(NaiveDate),
    /// A date is listed twice as a holiday or twice as a make-up working day.
    #[error("{0} is listed twice")]
    Duplicate(NaiveDate),
}
