//! The refunds policy as configuration: every clock and retry figure has the SPEC
//! default and can be shortened, so tests run whole refunds with second-long clocks.

use std::time::Duration;

use kit::config::{ConfigError, Env};

pub use crate::domain::clocks::Clock;
use crate::domain::{
    clocks::{INSURANCE_SETTLEMENT, SETTLEMENT_CALENDAR, SETTLEMENT_WORKING_DAYS},
    payout::RetryPolicy,
};

/// The refunds service's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// refund_settlement for every kind but insurance: 3 working days (SPEC §4: 1-3).
    pub settlement: Clock,
    /// refund_settlement for SHIPPING_INSURANCE: 24 h (seed 002).
    pub insurance_settlement: Clock,
    /// Payout retries.
    pub retry: RetryPolicy,
    /// How long a claimed refund stays with the worker that claimed it.
    pub lease: Duration,
    /// Longest the worker sleeps when nothing is due (it is also woken by new refunds).
    pub idle: Duration,
    /// Test builds only (feature `failpoints`): `REFUNDS_FAILPOINT`, see `failpoint.rs`.
    #[cfg(feature = "failpoints")]
    pub failpoint: Option<String>,
}

impl Settings {
    /// Reads `REFUNDS_*` variables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let override_after = match env.get("REFUNDS_SETTLEMENT_AFTER") {
            Some(_) => Some(env.duration_or("REFUNDS_SETTLEMENT_AFTER", Duration::ZERO)?),
            None => None,
        };
        let settlement = match override_after {
            Some(d) => Clock::After(d),
            None => Clock::WorkingDays {
                days: env.parse_or("REFUNDS_SETTLEMENT_WORKING_DAYS", SETTLEMENT_WORKING_DAYS)?,
                calendar: env
                    .get("REFUNDS_CALENDAR")
                    .unwrap_or(SETTLEMENT_CALENDAR)
                    .to_string(),
            },
        };
        let insurance_settlement = Clock::After(match override_after {
            Some(d) => d,
            None => env.duration_or("REFUNDS_INSURANCE_SETTLEMENT", INSURANCE_SETTLEMENT)?,
        });
        Ok(Self {
            settlement,
            insurance_settlement,
            retry: RetryPolicy {
                base: env.duration_or("REFUNDS_PAYOUT_BACKOFF", Duration::from_secs(1))?,
                max: env.duration_or("REFUNDS_PAYOUT_BACKOFF_MAX", Duration::from_secs(300))?,
                max_failures: env.parse_or("REFUNDS_PAYOUT_MAX_FAILURES", 8i32)?,
                poll: env.duration_or("REFUNDS_SETTLE_POLL", Duration::from_secs(30))?,
            },
            lease: env.duration_or("REFUNDS_PAYOUT_LEASE", Duration::from_secs(30))?,
            idle: env.duration_or("REFUNDS_WORKER_IDLE", Duration::from_secs(1))?,
            #[cfg(feature = "failpoints")]
            failpoint: env.get("REFUNDS_FAILPOINT").map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let s = Settings::from_env(&Env::from_pairs::<_, &str, &str>([])).unwrap();
        assert_eq!(
            s.settlement,
            Clock::WorkingDays {
                days: 3,
                calendar: "cn".into()
            }
        );
        assert_eq!(
            s.insurance_settlement,
            Clock::After(Duration::from_secs(86_400))
        );
        assert_eq!(s.retry.max_failures, 8);
        #[cfg(feature = "failpoints")]
        assert!(s.failpoint.is_none());
    }

    #[test]
    fn a_test_can_shorten_every_clock() {
        let env = Env::from_pairs([("REFUNDS_SETTLEMENT_AFTER", "2s")]);
        let s = Settings::from_env(&env).unwrap();
        assert_eq!(s.settlement, Clock::After(Duration::from_secs(2)));
        assert_eq!(s.insurance_settlement, Clock::After(Duration::from_secs(2)));
    }
}
