//! The returns service's settings, read from the environment and nothing else. Every
//! clock has the SPEC span (or the merchant's policy value, or the platform's span; see
//! `domain::clocks`) and can be replaced by a wall-clock duration, so tests run whole
//! requests with second-long clocks through the real SLA service.

use std::{collections::BTreeMap, time::Duration};

use kit::config::{ConfigError, Env};

use crate::domain::clocks::{ClockKind, PlatformSpans};

/// Settings read from `RETURNS_*`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `RETURNS_CLOCK_<KIND>` (e.g. `RETURNS_CLOCK_MERCHANT_REVIEW=2s`): overrides.
    pub overrides: BTreeMap<&'static str, Duration>,
    /// `RETURNS_DISPUTE_RULING_SPAN` (default 7d) and `RETURNS_DEFAULT_TRANSIT`
    /// (default 7d): the platform's own spans.
    pub platform: PlatformSpans,
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
        let d = PlatformSpans::default();
        let platform = PlatformSpans {
            dispute_ruling: env.duration_or("RETURNS_DISPUTE_RULING_SPAN", d.dispute_ruling)?,
            default_transit: env.duration_or("RETURNS_DEFAULT_TRANSIT", d.default_transit)?,
        };
        Ok(Self {
            overrides,
            platform,
        })
    }

    /// The wall-clock duration `kind` was set to run for, if any.
    pub fn clock_override(&self, kind: ClockKind) -> Option<Duration> {
        self.overrides.get(kind.as_str()).copied()
    }
}
