//! Merchant policies as the hot path reads them: from a short-lived in-process cache, so
//! filing a request costs no policy query. A policy published through this replica is
//! seen at once; through another, within [`TTL`].

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::{domain::policy::Policy, store};

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
