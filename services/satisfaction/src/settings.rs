//! The satisfaction service's settings, read from the environment and nothing else.

use std::time::Duration;

use kit::config::{ConfigError, Env};

/// Settings read from `SATISFACTION_*`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long a survey stays open (`SATISFACTION_SURVEY_WINDOW`, default 30 days).
    pub survey_window: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let window = env.duration_or(
            "SATISFACTION_SURVEY_WINDOW",
            Duration::from_secs(30 * 86_400),
        )?;
        Ok(Self {
            survey_window: window,
        })
    }
}
