//! The returns service's settings. Every clock has the SPEC span (or the merchant's
//! policy value) and can be replaced by a wall-clock duration, so tests run whole
//! requests with second-long clocks through the real SLA service.

use std::{collections::BTreeMap, sync::LazyLock, time::Duration};

use calendar::BusinessCalendar;
use chrono::{DateTime, Utc};
use kit::config::{ConfigError, Env};

use crate::domain::clocks::{ClockKind, Span};

/// Parsed once: the calendar data is compiled in.
static CN: LazyLock<BusinessCalendar> = LazyLock::new(BusinessCalendar::china_mainland);

/// Settings read from `RETURNS_*`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `RETURNS_CLOCK_<KIND>` (e.g. `RETURNS_CLOCK_MERCHANT_REVIEW=2s`): overrides.
    pub overrides: BTreeMap<&'static str, Duration>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut overrides = BTreeMap::new();
        for kind in ClockKind::ALL {
            let var = format!("RETURNS_CLOCK_{}", kind.as_str().to_ascii_uppercase());
            if env.get(&var).is_some() {
                overrides.insert(kind.as_str(), env.duration_or(&var, Duration::ZERO)?);
            }
        }
        Ok(Self { overrides })
    }

    /// How long `kind` runs, given the merchant's review promise and appeal window.
    pub fn span(&self, kind: ClockKind, review_hours: u32, appeal_days: u32) -> Span {
        match self.overrides.get(kind.as_str()) {
            Some(d) => Span::After(*d),
            None => kind.span(review_hours as u64, appeal_days),
        }
    }

    /// When a clock of `span` started at `start` runs out (working days on the `cn`
    /// calendar, as the SLA service counts them).
    pub fn due(span: &Span, start: DateTime<Utc>) -> DateTime<Utc> {
        match span {
            Span::After(d) => start + chrono::Duration::from_std(*d).unwrap_or_default(),
            Span::WorkingDays(n) => CN.add_working_days(start, *n).value,
        }
    }
}
