//! The gRPC surface of `ComplaintsService`. Each method takes the caller and the request
//! to a function of its verb family returning [`kit::Result`], and the error becomes a
//! `Status` once ([`kit::answer`]): [`create`] (filing), [`steps`] (the parties' steps,
//! each one transaction through `transition`) and [`reads`]. Methods not built yet
//! (follow-up, statistics, early warnings, public outcomes) keep the trait's default:
//! UNIMPLEMENTED, after authentication.

mod analysis;
mod create;
mod reads;
mod steps;

use std::sync::Arc;

use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, CloseComplaintRequest, Complaint, ComplaintStats,
    CreateComplaintRequest, EscalateComplaintRequest, GetComplaintRequest,
    GetComplaintStatsRequest, IssueRulingRequest, ListComplaintAuditRequest,
    ListComplaintAuditResponse, ListComplaintsRequest, ListComplaintsResponse,
    ListEarlyWarningsRequest, ListEarlyWarningsResponse, ListPublicOutcomesRequest,
    ListPublicOutcomesResponse, ProposeResolutionRequest, RecordExecutionRequest,
    RecordFollowUpRequest, RequestMerchantEvidenceRequest, RespondToProposalRequest,
    SubmitEvidenceRequest, TransferComplaintRequest, complaints_service_server::ComplaintsService,
};
use kit::{answer, auth::principal, client::Peers};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::settings::Settings;

/// What the API's calls share.
pub struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
}

impl Api {
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>) -> Self {
        Self {
            pool,
            peers,
            settings,
        }
    }
}

#[tonic::async_trait]
impl ComplaintsService for Api {
    async fn create_complaint(
        &self,
        req: Request<CreateComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.create(&who, req.into_inner()).await)
    }

    async fn get_complaint(
        &self,
        req: Request<GetComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.get(&who, req.into_inner()).await)
    }

    async fn list_complaints(
        &self,
        req: Request<ListComplaintsRequest>,
    ) -> Result<Response<ListComplaintsResponse>, Status> {
        let who = principal(&req)?;
        answer(self.list(&who, req.into_inner()).await)
    }

    async fn claim_complaint(
        &self,
        req: Request<ClaimComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.claim(&who, req.into_inner()).await)
    }

    async fn transfer_complaint(
        &self,
        req: Request<TransferComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.transfer(&who, req.into_inner()).await)
    }

    async fn request_merchant_evidence(
        &self,
        req: Request<RequestMerchantEvidenceRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.request_evidence(&who, req.into_inner()).await)
    }

    async fn submit_evidence(
        &self,
        req: Request<SubmitEvidenceRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.submit_evidence(&who, req.into_inner()).await)
    }

    async fn propose_resolution(
        &self,
        req: Request<ProposeResolutionRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.propose(&who, req.into_inner()).await)
    }

    async fn respond_to_proposal(
        &self,
        req: Request<RespondToProposalRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.respond(&who, req.into_inner()).await)
    }

    async fn issue_ruling(
        &self,
        req: Request<IssueRulingRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.rule(&who, req.into_inner()).await)
    }

    async fn record_execution(
        &self,
        req: Request<RecordExecutionRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.record_execution(&who, req.into_inner()).await)
    }

    async fn escalate_complaint(
        &self,
        req: Request<EscalateComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.escalate(&who, req.into_inner()).await)
    }

    async fn record_follow_up(
        &self,
        req: Request<RecordFollowUpRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.follow_up(&who, req.into_inner()).await)
    }

    async fn get_complaint_stats(
        &self,
        req: Request<GetComplaintStatsRequest>,
    ) -> Result<Response<ComplaintStats>, Status> {
        let who = principal(&req)?;
        answer(self.stats(&who, req.into_inner()).await)
    }

    async fn list_early_warnings(
        &self,
        req: Request<ListEarlyWarningsRequest>,
    ) -> Result<Response<ListEarlyWarningsResponse>, Status> {
        let who = principal(&req)?;
        answer(self.early_warnings(&who, req.into_inner()).await)
    }

    async fn list_public_outcomes(
        &self,
        req: Request<ListPublicOutcomesRequest>,
    ) -> Result<Response<ListPublicOutcomesResponse>, Status> {
        let who = principal(&req)?;
        answer(self.public_outcomes(&who, req.into_inner()).await)
    }

    async fn close_complaint(
        &self,
        req: Request<CloseComplaintRequest>,
    ) -> Result<Response<Complaint>, Status> {
        let who = principal(&req)?;
        answer(self.close(&who, req.into_inner()).await)
    }

    async fn list_complaint_audit(
        &self,
        req: Request<ListComplaintAuditRequest>,
    ) -> Result<Response<ListComplaintAuditResponse>, Status> {
        let who = principal(&req)?;
        answer(self.audit(&who, req.into_inner()).await)
    }
}
