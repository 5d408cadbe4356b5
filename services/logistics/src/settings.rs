//! The logistics service's settings: partners and their secrets, known carriers, the
//! webhook's address and limits, and the late-delivery tolerance.

use std::{collections::BTreeSet, time::Duration};

use kit::config::{ConfigError, Env};

use crate::domain::{partners::Partners, status::LATE_TOLERANCE};

/// Carriers known without configuration (lower case).
const DEFAULT_CARRIERS: &str = "sf,yto,zto,sto,yunda,jd,ems,best,dbl";

/// Settings read from `LOGISTICS_*`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `LOGISTICS_PARTNERS`: JSON list of partners (id, carriers, secrets).
    pub partners: Partners,
    /// `LOGISTICS_CARRIERS` plus every partner's carriers.
    pub carriers: BTreeSet<String>,
    /// `LOGISTICS_WEBHOOK_LISTEN`, default `0.0.0.0:8080`.
    pub webhook_listen: String,
    /// `LOGISTICS_SIGNATURE_TOLERANCE`, default 5 min: how far X-Timestamp may be off.
    pub signature_tolerance: Duration,
    /// `LOGISTICS_WEBHOOK_MAX_BODY` bytes, default 64 KiB.
    pub max_body: usize,
    /// `LOGISTICS_LATE_TOLERANCE`, default 72 h past the promised delivery time.
    pub late_tolerance: Duration,
}

impl Settings {
    /// Reads the environment.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let raw = env.get("LOGISTICS_PARTNERS").unwrap_or("[]");
        let partners = Partners::from_json(raw).map_err(|reason| ConfigError::Invalid {
            name: "LOGISTICS_PARTNERS".into(),
            value: "(not shown: holds secrets)".into(),
            reason,
        })?;
        let mut carriers: BTreeSet<String> = env
            .get("LOGISTICS_CARRIERS")
            .unwrap_or(DEFAULT_CARRIERS)
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        carriers.extend(partners.carriers().map(str::to_string));
        Ok(Self {
            partners,
            carriers,
            webhook_listen: env
                .get("LOGISTICS_WEBHOOK_LISTEN")
                .unwrap_or("0.0.0.0:8080")
                .to_string(),
            signature_tolerance: env
                .duration_or("LOGISTICS_SIGNATURE_TOLERANCE", Duration::from_secs(300))?,
            max_body: env.parse_or("LOGISTICS_WEBHOOK_MAX_BODY", 65_536usize)?,
            late_tolerance: env.duration_or("LOGISTICS_LATE_TOLERANCE", LATE_TOLERANCE)?,
        })
    }
}
