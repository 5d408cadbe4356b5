//! Business calendars by name. `cn` (mainland China) ships with the 2025 and 2026
//! official schedules; operators add later years at run time (UpsertCalendarYear), stored
//! in Postgres so every replica loads them.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use calendar::{BusinessCalendar, Holiday};
use chrono::NaiveDate;
use sqlx::PgPool;

use crate::store;

/// The calendar used when a working-day trigger names none.
pub const DEFAULT: &str = "cn";

/// Calendars shared by the service's tasks.
#[derive(Clone)]
pub struct Calendars {
    inner: Arc<RwLock<BTreeMap<String, BusinessCalendar>>>,
}

impl Default for Calendars {
    fn default() -> Self {
        let mut m = BTreeMap::new();
        m.insert(DEFAULT.to_string(), BusinessCalendar::china_mainland());
        Self {
            inner: Arc::new(RwLock::new(m)),
        }
    }
}

/// Why a calendar year was refused.
#[derive(Debug, thiserror::Error)]
pub enum YearError {
    #[error("unknown calendar {0:?}")]
    UnknownCalendar(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// Parses `YYYY-MM-DD` dates.
fn dates(field: &'static str, raw: &[String]) -> Result<Vec<NaiveDate>, YearError> {
    raw.iter()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| YearError::Invalid {
                field,
                message: format!("{d:?} is not a YYYY-MM-DD date"),
            })
        })
        .collect()
}

impl Calendars {
    /// Runs `f` with calendar `name`, if known.
    pub fn with<R>(&self, name: &str, f: impl FnOnce(&BusinessCalendar) -> R) -> Option<R> {
        self.inner
            .read()
            .expect("calendars poisoned")
            .get(name)
            .map(f)
    }

    /// A copy of calendar `name`.
    pub fn get(&self, name: &str) -> Option<BusinessCalendar> {
        self.with(name, Clone::clone)
    }

    /// Validates and applies a year to calendar `name` (in memory).
    pub fn apply_year(
        &self,
        name: &str,
        year: i32,
        holidays: &[String],
        makeup: &[String],
    ) -> Result<(), YearError> {
        let hol: Vec<Holiday> = dates("year.holidays", holidays)?
            .into_iter()
            .map(|date| Holiday {
                date,
                name: "holiday".into(),
            })
            .collect();
        let mk = dates("year.makeup_working_days", makeup)?;
        let mut all = self.inner.write().expect("calendars poisoned");
        let cal = all
            .get_mut(name)
            .ok_or_else(|| YearError::UnknownCalendar(name.to_string()))?;
        cal.set_year(year, hol, mk).map_err(|e| YearError::Invalid {
            field: "year",
            message: e.to_string(),
        })
    }

    /// Loads every year stored in Postgres (start-up and periodic refresh).
    pub async fn refresh(&self, pool: &PgPool) -> anyhow::Result<()> {
        for (cal, year, holidays, makeup) in store::calendar_years(pool).await? {
            let hol: Vec<String> = holidays.0.into_iter().map(|(d, _)| d).collect();
            if let Err(e) = self.apply_year(&cal, year, &hol, &makeup.0) {
                tracing::error!(calendar = %cal, year, error = %e, "stored calendar year refused");
            }
        }
        Ok(())
    }
}
