//! The gRPC surface of `refunds`: each method authorises, hands the request to a
//! function of its verb family returning `kit::Result`, and answers a `Status` once.
//! `create.rs` records refunds, `ledger.rs` holds the staff changes of one refund
//! (retry, platform advance, recovery), `reads.rs` the reads (a refund, a list, an audit
//! trail) and the penalty sum.

mod create;
mod ledger;
mod reads;

use std::sync::Arc;

use aftersales_proto::aftersales::refunds::v1::{
    ComputeLatePenaltyRequest, ComputeLatePenaltyResponse, CreateRefundRequest, GetRefundRequest,
    ListRefundAuditRequest, ListRefundAuditResponse, ListRefundsRequest, ListRefundsResponse,
    RecordPlatformAdvanceRequest, RecordRecoveryRequest, Refund, RetryRefundRequest,
    refunds_service_server::RefundsService,
};
use kit::{auth::principal, client::Peers};
use sqlx::PgPool;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use crate::settings::Settings;

/// The RefundsService implementation.
pub struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
    /// Wakes the payout worker when a refund becomes due now.
    wake: Arc<Notify>,
}

impl Api {
    /// The API on `pool`, fetching orders from `peers`, waking the worker with `wake`.
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>, wake: Arc<Notify>) -> Self {
        Self {
            pool,
            peers,
            settings,
            wake,
        }
    }
}

#[tonic::async_trait]
impl RefundsService for Api {
    #[tracing::instrument(skip_all, fields(source_case = %req.get_ref().source_case))]
    async fn create_refund(
        &self,
        req: Request<CreateRefundRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        kit::answer(self.create(&who, req.into_inner()).await)
    }

    async fn get_refund(&self, req: Request<GetRefundRequest>) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        kit::answer(self.get(&who, &req.into_inner().name).await)
    }

    async fn list_refunds(
        &self,
        req: Request<ListRefundsRequest>,
    ) -> Result<Response<ListRefundsResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.list(&who, req.into_inner()).await)
    }

    async fn retry_refund(
        &self,
        req: Request<RetryRefundRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        kit::answer(self.retry(&who, req.into_inner()).await)
    }

    async fn compute_late_penalty(
        &self,
        req: Request<ComputeLatePenaltyRequest>,
    ) -> Result<Response<ComputeLatePenaltyResponse>, Status> {
        kit::answer(reads::late_penalty(&req.into_inner()))
    }

    async fn record_platform_advance(
        &self,
        req: Request<RecordPlatformAdvanceRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        kit::answer(self.advance(&who, req.into_inner()).await)
    }

    async fn list_refund_audit(
        &self,
        req: Request<ListRefundAuditRequest>,
    ) -> Result<Response<ListRefundAuditResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.audit(&who, req.into_inner()).await)
    }

    async fn record_recovery(
        &self,
        req: Request<RecordRecoveryRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        kit::answer(self.recovery(&who, req.into_inner()).await)
    }
}
