//! The returns service's settings, read from the environment and nothing else. Every
//! clock has the SPEC span (or the merchant's policy value, see `domain::clocks`) and
//! can be replaced by a wall-clock duration, so tests run whole requests with
//! second-long clocks through the real SLA service.

use std::{collections::BTreeMap, time::Duration};

use kit::config::{ConfigError, Env};

use crate::domain::clocks::ClockKind;

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

    /// The wall-clock duration `kind` was set to run for, if any.
    pub fn clock_override(&self, kind: ClockKind) -> Option<Duration> {
        self.overrides.get(kind.as_str()).copied()
    }
}
