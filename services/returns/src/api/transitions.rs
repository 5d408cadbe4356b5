//! The parties' steps on a request: approve, reject, cancel, appeal, ship back,
//! inspect, ship and confirm a replacement. Each is idempotent by `request_id` and one
//! transaction: lock the request, build the command from it, `transition::apply`,
//! store the answer with the claim.

use aftersales_proto::aftersales::returns::v1::{
    AppealReturnRequest, ApproveReturnRequest, CancelReturnRequest, ConfirmReplacementRequest,
    InspectReturnRequest, RejectReturnRequest, Return, ShipReplacementRequest,
    SubmitReturnShipmentRequest,
};
use chrono::Utc;
use kit::{
    auth::Principal,
    idempotency::{self, Claim},
};
use prost::Message;

use super::Api;
use crate::{
    domain::{case::Case, machine::Command},
    error::not_found,
    names::return_id,
    parse, render, store,
    transition::{self, By},
};

/// Which transition an API call asks for.
pub(super) struct Step<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub request_id: &'a str,
    pub reason: &'a str,
    /// ReviseReturn: the line's units bought and this request's new quantity; the claim
    /// moves by the difference to the quantity read under the lock, in the same
    /// transaction (the CHECK refuses units another request holds).
    pub units: Option<(u32, u32)>,
}

impl<'a> Step<'a> {
    pub fn new(name: &'a str, method: &'a str, request_id: &'a str, reason: &'a str) -> Self {
        Self {
            name,
            method,
            request_id,
            reason,
            units: None,
        }
    }
}

impl Api {
    /// A transition requested through the API: idempotent by `request_id`, on a request
    /// the caller may see, with the command built from the locked request.
    pub(super) async fn act<M: Message>(
        &self,
        who: &Principal,
        step: Step<'_>,
        request: &M,
        build: impl FnOnce(&Case) -> kit::Result<Command>,
    ) -> kit::Result<Return> {
        let Step {
            name,
            method,
            request_id,
            reason,
            units,
        } = step;
        let id = return_id("name", name)?;
        idempotency::parse_request_id(request_id)
            .map_err(|e| kit::Error::invalid("request_id", e))?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = store::lock(&mut tx, id)
            .await?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(name))?;
        let delta =
            units.map(|(bought, quantity)| (bought, quantity as i32 - before.quantity as i32));
        if let Some((bought, delta)) = delta.filter(|(_, d)| *d != 0) {
            let (order, line) = (&before.order_id, &before.order_line_id);
            store::claim_units(&mut tx, order, line, bought, delta).await?;
        }
        let cmd = build(&before)?;
        let policy = transition::policy(&mut tx, &before.merchant_id).await?;
        let by = By {
            role: who.role.as_str(),
            id: &who.id,
            reason,
            request_id,
        };
        let now = Utc::now();
        let after =
            transition::apply(&mut tx, &self.settings, &policy, &before, cmd, by, now).await?;
        let answer = render::request(&after, Utc::now());
        idempotency::complete(&mut tx, &caller, method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// ApproveReturn.
    pub(super) async fn approve(
        &self,
        who: &Principal,
        r: ApproveReturnRequest,
    ) -> kit::Result<Return> {
        let cmd = parse::approve(&r)?;
        let step = Step::new(&r.name, "ApproveReturn", &r.request_id, &r.note);
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// RejectReturn.
    pub(super) async fn reject(
        &self,
        who: &Principal,
        r: RejectReturnRequest,
    ) -> kit::Result<Return> {
        let cmd = parse::reject(&r)?;
        let step = Step::new(&r.name, "RejectReturn", &r.request_id, &r.reason);
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// CancelReturn.
    pub(super) async fn cancel(
        &self,
        who: &Principal,
        r: CancelReturnRequest,
    ) -> kit::Result<Return> {
        let cmd = parse::cancel(&r)?;
        let step = Step::new(&r.name, "CancelReturn", &r.request_id, &r.reason);
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// AppealReturn.
    pub(super) async fn appeal(
        &self,
        who: &Principal,
        r: AppealReturnRequest,
    ) -> kit::Result<Return> {
        let cmd = parse::appeal(&r)?;
        let step = Step::new(&r.name, "AppealReturn", &r.request_id, &r.statement);
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// SubmitReturnShipment: the declared cost must be in the order's currency.
    pub(super) async fn submit_shipment(
        &self,
        who: &Principal,
        r: SubmitReturnShipmentRequest,
    ) -> kit::Result<Return> {
        let platform = self.platform.get(&self.pool).await?;
        let (cmd, cost) = parse::submit_shipment(&r, &platform)?;
        let step = Step::new(&r.name, "SubmitReturnShipment", &r.request_id, "");
        self.act(who, step, &r, |c: &Case| {
            parse::cost_currency(cost.as_ref(), &c.currency)?;
            Ok(cmd)
        })
        .await
    }

    /// InspectReturn.
    pub(super) async fn inspect(
        &self,
        who: &Principal,
        r: InspectReturnRequest,
    ) -> kit::Result<Return> {
        let platform = self.platform.get(&self.pool).await?;
        let cmd = parse::inspect(&r, &platform)?;
        let step = Step::new(&r.name, "InspectReturn", &r.request_id, &r.note);
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// ShipReplacement.
    pub(super) async fn ship_replacement(
        &self,
        who: &Principal,
        r: ShipReplacementRequest,
    ) -> kit::Result<Return> {
        let cmd = parse::ship_replacement(&r)?;
        let step = Step::new(&r.name, "ShipReplacement", &r.request_id, "");
        self.act(who, step, &r, |_| Ok(cmd)).await
    }

    /// ConfirmReplacement.
    pub(super) async fn confirm(
        &self,
        who: &Principal,
        r: ConfirmReplacementRequest,
    ) -> kit::Result<Return> {
        let step = Step::new(&r.name, "ConfirmReplacement", &r.request_id, "");
        self.act(who, step, &r, |_| Ok(Command::Confirm { auto: false }))
            .await
    }
}
