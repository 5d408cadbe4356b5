//! The gRPC surface of `RepairsService`. Each method takes the caller and the request to
//! a function of its verb family returning [`kit::Result`], and the error becomes a
//! `Status` once ([`kit::answer`]): [`create`] (filing), [`steps`] (the parties' steps,
//! each one transaction through `transition`; [`work`] after the merchant's answer;
//! [`legs`] the pickup, the withdrawal and the spare unit) and
//! [`reads`].

mod create;
mod legs;
mod reads;
mod steps;
mod work;

use std::sync::Arc;

use aftersales_proto::aftersales::repairs::v1::{
    AcceptQuoteRequest, AcceptRepairRequest, AcceptRepairedItemRequest, AcknowledgeRepairRequest,
    BookRepairPickupRequest, CancelRepairRequest, CompleteRepairRequest, CreateRepairRequest,
    DeclineQuoteRequest, DeclineRepairRequest, DiagnoseRepairRequest, ExtendRepairRequest,
    GetRepairRequest, ListRepairAuditRequest, ListRepairAuditResponse, ListRepairsRequest,
    ListRepairsResponse, QuoteRepairRequest, ReopenRepairRequest, Repair,
    ReportRepairProgressRequest, ReturnSpareUnitRequest, ShipRepairedItemRequest,
    ShipSpareUnitRequest, SubmitRepairShipmentRequest, repairs_service_server::RepairsService,
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
impl RepairsService for Api {
    async fn create_repair(
        &self,
        req: Request<CreateRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.create(&who, req.into_inner()).await)
    }

    async fn get_repair(&self, req: Request<GetRepairRequest>) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.get(&who, req.into_inner()).await)
    }

    async fn list_repairs(
        &self,
        req: Request<ListRepairsRequest>,
    ) -> Result<Response<ListRepairsResponse>, Status> {
        let who = principal(&req)?;
        answer(self.list(&who, req.into_inner()).await)
    }

    async fn list_repair_audit(
        &self,
        req: Request<ListRepairAuditRequest>,
    ) -> Result<Response<ListRepairAuditResponse>, Status> {
        let who = principal(&req)?;
        answer(self.audit(&who, req.into_inner()).await)
    }

    async fn acknowledge_repair(
        &self,
        req: Request<AcknowledgeRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.acknowledge(&who, req.into_inner()).await)
    }

    async fn accept_repair(
        &self,
        req: Request<AcceptRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.accept(&who, req.into_inner()).await)
    }

    async fn decline_repair(
        &self,
        req: Request<DeclineRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.decline(&who, req.into_inner()).await)
    }

    async fn submit_repair_shipment(
        &self,
        req: Request<SubmitRepairShipmentRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.submit_shipment(&who, req.into_inner()).await)
    }

    async fn diagnose_repair(
        &self,
        req: Request<DiagnoseRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.diagnose(&who, req.into_inner()).await)
    }

    async fn quote_repair(
        &self,
        req: Request<QuoteRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.quote(&who, req.into_inner()).await)
    }

    async fn book_repair_pickup(
        &self,
        req: Request<BookRepairPickupRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.book_pickup(&who, req.into_inner()).await)
    }

    async fn cancel_repair(
        &self,
        req: Request<CancelRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.cancel(&who, req.into_inner()).await)
    }

    async fn ship_spare_unit(
        &self,
        req: Request<ShipSpareUnitRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.ship_spare(&who, req.into_inner()).await)
    }

    async fn return_spare_unit(
        &self,
        req: Request<ReturnSpareUnitRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.return_spare(&who, req.into_inner()).await)
    }

    async fn accept_quote(
        &self,
        req: Request<AcceptQuoteRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.accept_quote(&who, req.into_inner()).await)
    }

    async fn decline_quote(
        &self,
        req: Request<DeclineQuoteRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.decline_quote(&who, req.into_inner()).await)
    }

    async fn extend_repair(
        &self,
        req: Request<ExtendRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.extend(&who, req.into_inner()).await)
    }

    async fn report_repair_progress(
        &self,
        req: Request<ReportRepairProgressRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.progress(&who, req.into_inner()).await)
    }

    async fn complete_repair(
        &self,
        req: Request<CompleteRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.complete(&who, req.into_inner()).await)
    }

    async fn ship_repaired_item(
        &self,
        req: Request<ShipRepairedItemRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.ship_back(&who, req.into_inner()).await)
    }

    async fn accept_repaired_item(
        &self,
        req: Request<AcceptRepairedItemRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.accept_item(&who, req.into_inner()).await)
    }

    async fn reopen_repair(
        &self,
        req: Request<ReopenRepairRequest>,
    ) -> Result<Response<Repair>, Status> {
        let who = principal(&req)?;
        answer(self.reopen(&who, req.into_inner()).await)
    }
}
