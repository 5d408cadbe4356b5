//! The platform's returns policy: read by anyone filing or handling a request, changed
//! by an admin (each version kept with who changed it, as its audit trail).

use aftersales_proto::aftersales::returns::v1::{
    GetPlatformPolicyRequest, PlatformPolicy, UpdatePlatformPolicyRequest,
};
use kit::{
    Error,
    auth::Principal,
    idempotency::{self, Claim},
};

use super::Api;
use crate::{names, parse, render, store};

const UPDATE: &str = "UpdatePlatformPolicy";

impl Api {
    /// GetPlatformPolicy: the version in force, or the defaults.
    pub(super) async fn get_platform_policy(
        &self,
        r: GetPlatformPolicyRequest,
    ) -> kit::Result<PlatformPolicy> {
        if r.name != names::PLATFORM_POLICY {
            return Err(Error::invalid(
                "name",
                format!("must be {}", names::PLATFORM_POLICY),
            ));
        }
        let stored = store::platform_policy(&mut *self.pool.acquire().await?).await?;
        Ok(match stored {
            Some((p, at)) => render::platform_policy_out(&p, Some(at)),
            None => render::platform_policy_out(&Default::default(), None),
        })
    }

    /// UpdatePlatformPolicy: a new version in force at once on this replica, within the
    /// cache's TTL on the others.
    pub(super) async fn update_platform_policy(
        &self,
        who: &Principal,
        r: UpdatePlatformPolicyRequest,
    ) -> kit::Result<PlatformPolicy> {
        let policy = parse::platform_policy(&r)?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, UPDATE, &r.request_id, &r).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let actor = (who.role.to_string(), who.id.clone());
        let at = store::put_platform_policy(&mut tx, &policy, (&actor.0, &actor.1), &r.request_id)
            .await?;
        let answer = render::platform_policy_out(&policy, Some(at));
        idempotency::complete(&mut tx, &caller, UPDATE, &r.request_id, &answer).await?;
        tx.commit().await?;
        self.platform.forget();
        tracing::info!(actor = %caller, "platform returns policy changed");
        Ok(answer)
    }
}
