//! The satisfaction service's settings, read from the environment and nothing else.

use std::time::Duration;

use kit::config::{ConfigError, Env};

use crate::domain::alert::Target;

/// Settings read from `SATISFACTION_*`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a survey stays open (`SATISFACTION_SURVEY_WINDOW`, default 30 days).
    pub survey_window: Duration,
    /// The CSAT target and the ratings it needs (`SATISFACTION_CSAT_TARGET`, default
    /// 0.8; `SATISFACTION_ALERT_MIN_RATINGS`, default 20).
    pub target: Target,
}

/// The trailing window the CSAT alert judges, in days (today included).
pub const ALERT_WINDOW_DAYS: i64 = 30;

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let window = env.duration_or(
            "SATISFACTION_SURVEY_WINDOW",
            Duration::from_secs(30 * 86_400),
        )?;
        let csat: f64 = env.parse_or("SATISFACTION_CSAT_TARGET", 0.8)?;
        let min: u32 = env.parse_or("SATISFACTION_ALERT_MIN_RATINGS", 20)?;
        if !(0.0..=1.0).contains(&csat) {
            return Err(ConfigError::Invalid {
                name: "SATISFACTION_CSAT_TARGET".into(),
                value: csat.to_string(),
                reason: "a share within 0..=1".into(),
            });
        }
        Ok(Self {
            survey_window: window,
            target: Target {
                csat,
                min_ratings: i64::from(min.max(1)),
            },
        })
    }
}
