//! The repairs service's settings, read from the environment and nothing else. Every
//! clock has its SPEC span (`domain::clocks::Spans`) and can be replaced by a wall-clock
//! duration (`REPAIRS_CLOCK_<KIND>`, e.g. `REPAIRS_CLOCK_FORMAL_ANSWER=3s`), so tests run
//! whole repairs with second-long clocks through the real SLA service.

use std::time::Duration;

use kit::config::{ConfigError, Env};

use crate::domain::clocks::{ClockKind, Span, Spans};

/// Settings read from `REPAIRS_*`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub spans: Spans,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut spans = Spans::default();
        for kind in ClockKind::ALL {
            let var = format!("REPAIRS_CLOCK_{}", kind.as_str().to_ascii_uppercase());
            if env.get(&var).is_some() {
                spans.set(kind, Span::After(env.duration_or(&var, Duration::ZERO)?));
            }
        }
        Ok(Self { spans })
    }
}
