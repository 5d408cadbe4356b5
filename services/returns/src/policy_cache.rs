//! Merchant policies and the platform's as the hot path reads them: from a short-lived
//! in-process cache, so filing a request costs no policy query. A policy published
//! through this replica is seen at once; through another, within [`TTL`].

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::{
    domain::{platform_policy::PlatformPolicy, policy::Policy},
    store,
};

/// How long a read policy is trusted.
pub const TTL: Duration = Duration::from_secs(5);

/// The cache.
#[derive(Default)]
pub struct PolicyCache {
    cached: Mutex<HashMap<String, (Policy, Instant)>>,
}

impl PolicyCache {
    /// The merchant's policy (or the platform defaults).
    pub async fn get(&self, pool: &PgPool, merchant: &str) -> Result<Policy, sqlx::Error> {
        if let Some((p, at)) = self.cached.lock().expect("policy cache").get(merchant)
            && at.elapsed() < TTL
        {
            return Ok(p.clone());
        }
        let mut conn = pool.acquire().await?;
        let policy = store::policy(&mut conn, merchant)
            .await?
            .map(|(p, _)| p)
            .unwrap_or_default();
        self.cached
            .lock()
            .expect("policy cache")
            .insert(merchant.to_string(), (policy.clone(), Instant::now()));
        Ok(policy)
    }

    /// Forgets a merchant's policy (it was just published here).
    pub fn forget(&self, merchant: &str) {
        self.cached.lock().expect("policy cache").remove(merchant);
    }
}

/// The platform policy's cache (one value).
#[derive(Default)]
pub struct PlatformCache {
    cached: Mutex<Option<(PlatformPolicy, Instant)>>,
}

impl PlatformCache {
    /// The platform policy in force (or the defaults).
    pub async fn get(&self, pool: &PgPool) -> Result<PlatformPolicy, sqlx::Error> {
        if let Some((p, at)) = self.cached.lock().expect("platform cache").as_ref()
            && at.elapsed() < TTL
        {
            return Ok(p.clone());
        }
        let mut conn = pool.acquire().await?;
        let policy = store::platform_policy(&mut conn)
            .await?
            .map(|(p, _)| p)
            .unwrap_or_default();
        *self.cached.lock().expect("platform cache") = Some((policy.clone(), Instant::now()));
        Ok(policy)
    }

    /// Forgets it (it was just changed here).
    pub fn forget(&self) {
        *self.cached.lock().expect("platform cache") = None;
    }
}
