//! The complaints service's settings, read from the environment and nothing else. Every
//! clock has its policy span (`domain::clocks::Spans`) and can be replaced by a
//! wall-clock duration, so tests run whole tickets with second-long clocks through the
//! real SLA service.

use std::time::Duration;

use kit::config::{ConfigError, Env};

use crate::domain::{
    clocks::{ClockKind, Spans},
    escalation::Threshold,
};

/// Settings read from `COMPLAINTS_*`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `COMPLAINTS_CLOCK_<KIND>` (e.g. `COMPLAINTS_CLOCK_RESOLUTION=3s`): one span for
    /// both priorities; unset: the policy's.
    pub spans: Spans,
    /// `COMPLAINTS_EXPERT_THRESHOLD` (CNY minor units, default 1,000,000 = 10,000.00).
    pub expert_threshold: Threshold,
    /// `COMPLAINTS_EXPERT_ARBITRATORS` (comma-separated arbitrator ids): the expert
    /// group, who alone rule on escalated complaints.
    pub experts: std::collections::BTreeSet<String>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut spans = Spans::default();
        for kind in ClockKind::ALL {
            let var = format!("COMPLAINTS_CLOCK_{}", kind.as_str().to_ascii_uppercase());
            if env.get(&var).is_none() {
                continue;
            }
            let d = env.duration_or(&var, Duration::ZERO)?;
            match kind {
                ClockKind::Resolution => {
                    (spans.urgent_resolution, spans.normal_resolution) = (d, d)
                }
                ClockKind::FirstResponse => {
                    (spans.urgent_first_response, spans.normal_first_response) = (d, d)
                }
                ClockKind::MerchantEvidence => spans.merchant_evidence = d,
                ClockKind::ProposalResponse => spans.proposal_response = d,
                ClockKind::Execution => spans.execution = d,
                ClockKind::Closing => spans.closing = d,
                ClockKind::NextUpdate => {
                    (spans.urgent_next_update, spans.normal_next_update) = (d, d)
                }
            }
        }
        let threshold = match env.get("COMPLAINTS_EXPERT_THRESHOLD") {
            None => Threshold::default(),
            Some(v) => Threshold(v.parse().map_err(|_| ConfigError::Invalid {
                name: "COMPLAINTS_EXPERT_THRESHOLD".into(),
                value: v.into(),
                reason: "an amount in CNY minor units".into(),
            })?),
        };
        let experts = env
            .get("COMPLAINTS_EXPERT_ARBITRATORS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        Ok(Self {
            spans,
            expert_threshold: threshold,
            experts,
        })
    }
}
