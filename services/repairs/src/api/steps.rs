//! The parties' steps on a repair, each one transaction: the idempotency claim, the
//! repair locked (concurrent steps serialise on it: the merchant's answer racing its
//! clock's expiry leaves one outcome), the transition with its audit and outbox rows,
//! the answer stored.

use aftersales_proto::aftersales::repairs::v1::{
    AcceptRepairRequest, AcknowledgeRepairRequest, DeclineRepairRequest, Repair as ProtoRepair,
};
use chrono::Utc;
use kit::{
    auth::Principal,
    idempotency::{self, Claim},
};
use prost::Message;

use super::Api;
use crate::{
    domain::machine::Command,
    error::not_found,
    names, parse, render, store,
    transition::{self, By},
};

/// One step: which repair, under which method and request id, why (for the audit).
pub(super) struct Step<'a> {
    pub name: &'a str,
    pub method: &'static str,
    pub request_id: &'a str,
    pub reason: &'a str,
}

impl Api {
    pub(super) async fn act<M: Message>(
        &self,
        who: &Principal,
        step: Step<'_>,
        request: &M,
        cmd: Command,
    ) -> kit::Result<ProtoRepair> {
        let id = names::repair_id("name", step.name)?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, step.method, step.request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = store::lock(&mut tx, id)
            .await?
            .filter(|x| who.can_see_case(&x.buyer_id, &x.merchant_id))
            .ok_or_else(|| not_found(step.name))?;
        let role = who.role.to_string();
        let by = By {
            role: &role,
            id: &who.id,
            reason: step.reason,
            request_id: step.request_id,
        };
        // a refusal drops `tx`: the claim goes with it and nothing was written
        let after =
            transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await?;
        let answer = render::repair(&after);
        idempotency::complete(&mut tx, &caller, step.method, step.request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    pub(super) async fn acknowledge(
        &self,
        who: &Principal,
        r: AcknowledgeRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let message = parse::acknowledge(&r)?;
        let step = Step {
            name: &r.name,
            method: "AcknowledgeRepair",
            request_id: &r.request_id,
            reason: &message,
        };
        self.act(who, step, &r, Command::Acknowledge).await
    }

    pub(super) async fn accept(
        &self,
        who: &Principal,
        r: AcceptRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let address = parse::accept(&r)?;
        let step = Step {
            name: &r.name,
            method: "AcceptRepair",
            request_id: &r.request_id,
            reason: &r.message,
        };
        let cmd = Command::Accept {
            spare_unit: r.spare_unit,
            address,
        };
        self.act(who, step, &r, cmd).await
    }

    pub(super) async fn decline(
        &self,
        who: &Principal,
        r: DeclineRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let reason = parse::decline(&r)?;
        let step = Step {
            name: &r.name,
            method: "DeclineRepair",
            request_id: &r.request_id,
            reason: &reason,
        };
        self.act(
            who,
            step,
            &r,
            Command::Decline {
                reason: reason.clone(),
            },
        )
        .await
    }
}
