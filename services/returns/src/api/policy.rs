//! Merchants' after-sales policies: published (by the merchant itself, idempotently)
//! and read (the platform defaults for a merchant that published none).

use aftersales_proto::aftersales::returns::v1::{
    GetMerchantPolicyRequest, MerchantPolicy, UpsertMerchantPolicyRequest,
};
use kit::{
    auth::{Principal, Role},
    idempotency::{self, Claim},
};

use super::Api;
use crate::{domain::policy::Policy, parse, render, store};

const UPSERT: &str = "UpsertMerchantPolicy";

impl Api {
    /// UpsertMerchantPolicy: within the legal floors; seen at once by this replica.
    pub(super) async fn upsert_policy(
        &self,
        who: &Principal,
        r: UpsertMerchantPolicyRequest,
    ) -> kit::Result<MerchantPolicy> {
        let (merchant, policy) = parse::upsert_policy(&r, who)?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, UPSERT, &r.request_id, &r).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let updated = store::put_policy(&mut tx, &merchant, &policy).await?;
        let answer = render::policy_out(&merchant, &policy, Some(updated));
        idempotency::complete(&mut tx, &caller, UPSERT, &r.request_id, &answer).await?;
        tx.commit().await?;
        self.policies.forget(&merchant);
        Ok(answer)
    }

    /// GetMerchantPolicy: the published policy, or the defaults. The return address
    /// (a contact's name and phone) only for the merchant itself and the platform: a
    /// buyer gets it with the approval of their case (minimum necessary, PIPL).
    pub(super) async fn get_policy(
        &self,
        who: &Principal,
        r: GetMerchantPolicyRequest,
    ) -> kit::Result<MerchantPolicy> {
        let merchant = parse::policy_merchant(&r.name)?;
        let (policy, updated) =
            match store::policy(&mut *self.pool.acquire().await?, merchant).await? {
                Some((p, t)) => (p, Some(t)),
                None => (Policy::default(), None),
            };
        let mut out = render::policy_out(merchant, &policy, updated);
        let own = who.role == Role::Merchant && who.id == merchant;
        if !(own || who.is_platform()) {
            out.return_address = None;
        }
        Ok(out)
    }
}
