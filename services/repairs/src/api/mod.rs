//! The gRPC surface of `RepairsService`. Each method takes the caller and the request to
//! a function of its verb family returning [`kit::Result`], and the error becomes a
//! `Status` once ([`kit::answer`]): [`create`] (filing), [`steps`] (the parties' steps,
//! each one transaction through `transition`) and [`reads`]. Methods not built yet keep
//! the trait's default: UNIMPLEMENTED, after authentication.

mod create;
mod reads;
mod steps;

use std::sync::Arc;

use aftersales_proto::aftersales::repairs::v1::{
    AcceptRepairRequest, AcknowledgeRepairRequest, CreateRepairRequest, DeclineRepairRequest,
    GetRepairRequest, ListRepairAuditRequest, ListRepairAuditResponse, ListRepairsRequest,
    ListRepairsResponse, Repair, repairs_service_server::RepairsService,
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
}
