//! The gRPC surface of `ReturnsService`. Each method takes the caller and the request to
//! a function of its verb family returning [`kit::Result`], and the error becomes a
//! `Status` once ([`kit::answer`]). The families: [`create`] (filing and revising a
//! request: eligibility from the order's facts), [`transitions`] (the parties' steps,
//! each one transaction through `transition`), [`reads`] (gets and lists) and
//! [`policy`] (merchants' published policies) and [`platform`] (the platform's
//! returns policy: refund-only cases and fees).

mod create;
mod platform;
mod policy;
mod reads;
mod transitions;

use std::sync::Arc;

use aftersales_proto::aftersales::returns::v1::{
    AppealReturnRequest, ApproveReturnRequest, CancelReturnRequest, ConfirmReplacementRequest,
    CreateReturnRequest, GetMerchantPolicyRequest, GetPlatformPolicyRequest, GetReturnRequest,
    InspectReturnRequest, ListReturnAuditRequest, ListReturnAuditResponse, ListReturnsRequest,
    ListReturnsResponse, MerchantPolicy, PlatformPolicy, RejectReturnRequest, Return,
    ReviseReturnRequest, ShipReplacementRequest, SubmitReturnShipmentRequest,
    UpdatePlatformPolicyRequest, UpsertMerchantPolicyRequest,
    returns_service_server::ReturnsService,
};
use kit::{answer, auth::principal, client::Peers};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    policy_cache::{PlatformCache, PolicyCache},
    settings::Settings,
};

/// What the API's calls share: Postgres, the platform peers, the settings and the
/// policy caches (merchants', the platform's).
pub struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
    policies: PolicyCache,
    platform: PlatformCache,
}

impl Api {
    /// The API over the service's pool, peers and settings.
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>) -> Self {
        Self {
            pool,
            peers,
            settings,
            policies: PolicyCache::default(),
            platform: PlatformCache::default(),
        }
    }
}

#[tonic::async_trait]
impl ReturnsService for Api {
    async fn upsert_merchant_policy(
        &self,
        req: Request<UpsertMerchantPolicyRequest>,
    ) -> Result<Response<MerchantPolicy>, Status> {
        let who = principal(&req)?;
        answer(self.upsert_policy(&who, req.into_inner()).await)
    }

    async fn get_merchant_policy(
        &self,
        req: Request<GetMerchantPolicyRequest>,
    ) -> Result<Response<MerchantPolicy>, Status> {
        let who = principal(&req)?;
        answer(self.get_policy(&who, req.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(order = %req.get_ref().order_id))]
    async fn create_return(
        &self,
        req: Request<CreateReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.create(&who, req.into_inner()).await)
    }

    async fn get_return(&self, req: Request<GetReturnRequest>) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.get(&who, req.into_inner()).await)
    }

    async fn list_returns(
        &self,
        req: Request<ListReturnsRequest>,
    ) -> Result<Response<ListReturnsResponse>, Status> {
        let who = principal(&req)?;
        answer(self.list(&who, req.into_inner()).await)
    }

    async fn approve_return(
        &self,
        req: Request<ApproveReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.approve(&who, req.into_inner()).await)
    }

    async fn reject_return(
        &self,
        req: Request<RejectReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.reject(&who, req.into_inner()).await)
    }

    async fn cancel_return(
        &self,
        req: Request<CancelReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.cancel(&who, req.into_inner()).await)
    }

    async fn revise_return(
        &self,
        req: Request<ReviseReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.revise(&who, req.into_inner()).await)
    }

    async fn appeal_return(
        &self,
        req: Request<AppealReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.appeal(&who, req.into_inner()).await)
    }

    async fn submit_return_shipment(
        &self,
        req: Request<SubmitReturnShipmentRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.submit_shipment(&who, req.into_inner()).await)
    }

    async fn inspect_return(
        &self,
        req: Request<InspectReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.inspect(&who, req.into_inner()).await)
    }

    async fn ship_replacement(
        &self,
        req: Request<ShipReplacementRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.ship_replacement(&who, req.into_inner()).await)
    }

    async fn confirm_replacement(
        &self,
        req: Request<ConfirmReplacementRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        answer(self.confirm(&who, req.into_inner()).await)
    }

    async fn list_return_audit(
        &self,
        req: Request<ListReturnAuditRequest>,
    ) -> Result<Response<ListReturnAuditResponse>, Status> {
        let who = principal(&req)?;
        answer(self.audit(&who, req.into_inner()).await)
    }

    async fn get_platform_policy(
        &self,
        req: Request<GetPlatformPolicyRequest>,
    ) -> Result<Response<PlatformPolicy>, Status> {
        answer(self.get_platform_policy(req.into_inner()).await)
    }

    async fn update_platform_policy(
        &self,
        req: Request<UpdatePlatformPolicyRequest>,
    ) -> Result<Response<PlatformPolicy>, Status> {
        let who = principal(&req)?;
        answer(self.update_platform_policy(&who, req.into_inner()).await)
    }
}
