//! The gRPC surface of `logistics`: each method authorises, hands the request to a
//! function of its verb family returning `kit::Result`, and answers a `Status` once.
//! `create.rs` registers shipments and books pickups, `events.rs` takes carrier events
//! reported over gRPC, `reads.rs` answers shipments, timelines, lists and audit trails.

mod create;
mod events;
mod reads;

use std::sync::Arc;

use aftersales_proto::aftersales::logistics::v1::{
    BookPickupRequest, GetShipmentRequest, GetShipmentTimelineRequest, GetShipmentTimelineResponse,
    ListShipmentAuditRequest, ListShipmentAuditResponse, ListShipmentsRequest,
    ListShipmentsResponse, RegisterShipmentRequest, ReportCarrierEventRequest,
    ReportCarrierEventResponse, Shipment, logistics_service_server::LogisticsService,
};
use kit::{
    auth::{Principal, Role, principal},
    client::Peers,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{settings::Settings, store::ShipmentRow};

/// The LogisticsService implementation.
pub struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
}

impl Api {
    /// The API on `pool`, booking pickups through `peers`.
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>) -> Self {
        Self {
            pool,
            peers,
            settings,
        }
    }
}

/// Whether `who` reports or sees for `carrier`: a partner only for its own carriers.
fn own_carrier(who: &Principal, carrier: &str) -> bool {
    who.carrier
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(carrier))
}

/// Whether `who` may read shipment `s` (SPEC §9): a partner its own carriers' only, a
/// buyer or a merchant only the shipments of their own cases, as the case owner named the
/// parties at registration (a shipment registered without them is staff's only); staff
/// and the services the access table lets in read every one.
fn visible(who: &Principal, s: &ShipmentRow) -> bool {
    let party = |id: &str| !id.is_empty() && id == who.id;
    match who.role {
        Role::Partner => own_carrier(who, &s.carrier_code),
        Role::Buyer => party(&s.buyer_id),
        Role::Merchant => party(&s.merchant_id),
        _ => true,
    }
}

#[tonic::async_trait]
impl LogisticsService for Api {
    #[tracing::instrument(skip_all, fields(case = %req.get_ref().case_name))]
    async fn register_shipment(
        &self,
        req: Request<RegisterShipmentRequest>,
    ) -> Result<Response<Shipment>, Status> {
        let who = principal(&req)?;
        kit::answer(self.register_shipment(&who, req.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(case = %req.get_ref().case_name))]
    async fn book_pickup(
        &self,
        req: Request<BookPickupRequest>,
    ) -> Result<Response<Shipment>, Status> {
        let who = principal(&req)?;
        kit::answer(self.book_pickup(&who, req.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(carrier = %req.get_ref().carrier_code, event = %req.get_ref().event_id))]
    async fn report_carrier_event(
        &self,
        req: Request<ReportCarrierEventRequest>,
    ) -> Result<Response<ReportCarrierEventResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.report(&who, req.into_inner()).await)
    }

    async fn get_shipment(
        &self,
        req: Request<GetShipmentRequest>,
    ) -> Result<Response<Shipment>, Status> {
        let who = principal(&req)?;
        kit::answer(self.get(&who, req.into_inner().name).await)
    }

    async fn get_shipment_timeline(
        &self,
        req: Request<GetShipmentTimelineRequest>,
    ) -> Result<Response<GetShipmentTimelineResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.timeline(&who, req.into_inner()).await)
    }

    async fn list_shipments(
        &self,
        req: Request<ListShipmentsRequest>,
    ) -> Result<Response<ListShipmentsResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.list(&who, req.into_inner()).await)
    }

    async fn list_shipment_audit(
        &self,
        req: Request<ListShipmentAuditRequest>,
    ) -> Result<Response<ListShipmentAuditResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(self.audit(&who, req.into_inner()).await)
    }
}
