//! gRPC surface of `logistics`: shipments registered by the case owners, pickups booked
//! through CarrierBooking, carrier events reported by partners, timelines for everyone
//! who may see them.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    logistics::v1::{
        BookPickupRequest, GetShipmentRequest, GetShipmentTimelineRequest,
        GetShipmentTimelineResponse, ListShipmentsRequest, ListShipmentsResponse,
        RegisterShipmentRequest, ReportCarrierEventRequest, ReportCarrierEventResponse, Shipment,
        ShipmentLeg, ShipmentStatus, ShipmentTimeline,
        logistics_service_server::{LogisticsService, LogisticsServiceServer},
    },
    platform::v1::{self as platform, carrier_booking_client::CarrierBookingClient},
};
use kit::{
    App, Ctx, Error,
    auth::{Policy, Principal, Role, principal},
    client::Peers,
    error::Violations,
    idempotency::{self, Claim},
    outbox::request_id_for,
    time::from_ts,
};
use prost::Message;
use sqlx::PgPool;
use tonic::{Request, Response, Status, service::Routes};
use uuid::Uuid;

use crate::{
    convert,
    domain::status::Status as ShipStatus,
    ingest,
    settings::Settings,
    store::{self, Filter, NewShipment, ShipmentRow},
    webhook,
};

const SERVICE: &str = "aftersales.logistics.v1.LogisticsService";

/// Builds the service: the gRPC API and the webhook server.
pub async fn app(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let hook = webhook::bind(&settings.webhook_listen).await?;
    let api = Api {
        pool: pool.clone(),
        peers: ctx.peers.clone(),
        settings: settings.clone(),
    };
    use Role::*;
    let readers = [Agent, Arbitrator, Service, Partner];
    let policy = Policy::new()
        .allow(SERVICE, "RegisterShipment", &[Agent, Service])
        .allow(SERVICE, "BookPickup", &[Agent, Service])
        .allow(SERVICE, "ReportCarrierEvent", &[Partner, Agent])
        .allow(SERVICE, "GetShipment", &readers)
        .allow(SERVICE, "GetShipmentTimeline", &readers)
        .allow(SERVICE, "ListShipments", &readers);
    Ok(App {
        routes: Routes::new(LogisticsServiceServer::new(api)),
        policy,
        tasks: vec![Box::pin(webhook::serve(
            hook,
            pool,
            settings,
            ctx.shutdown.clone(),
        ))],
    })
}

struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
}

fn shipment_id(name: &str) -> Result<Uuid, Error> {
    name.strip_prefix("shipments/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::invalid("name", "must look like shipments/{uuid}"))
}

/// A partner sees only its own carriers' shipments; everyone else allowed in sees all.
fn visible(who: &Principal, s: &ShipmentRow) -> bool {
    match who.role {
        Role::Partner => who
            .carrier
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(&s.carrier_code)),
        _ => true,
    }
}

fn case_name(v: &mut Violations, raw: &str) {
    match raw.split_once('/') {
        Some((svc, id)) if !svc.is_empty() && !id.is_empty() && raw.len() <= 200 => {}
        _ => v.add("case_name", "must name the case, e.g. returns/123"),
    }
}

fn leg(v: &mut Violations, raw: i32) -> i16 {
    if raw <= 0 || ShipmentLeg::try_from(raw).is_err() {
        v.add(
            "leg",
            "is required: RETURN, REPLACEMENT, REPAIR_INBOUND or REPAIR_OUTBOUND",
        );
    }
    raw as i16
}

fn carrier(v: &mut Violations, settings: &Settings, raw: &str) -> String {
    let c = raw.to_ascii_lowercase();
    if c.is_empty() {
        v.add("carrier_code", "is required");
    } else if !settings.carriers.contains(&c) {
        v.add("carrier_code", "unknown carrier");
    }
    c
}

impl Api {
    /// Registers `s` (or finds it) and applies the events already received for its
    /// tracking number, in one transaction with the idempotency record.
    async fn register(
        &self,
        who: &Principal,
        method: &str,
        request_id: &str,
        request: &impl Message,
        s: NewShipment,
    ) -> Result<Shipment, Error> {
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &who.caller_key(), method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        // Serialise with concurrent events of this parcel (see `store::lock_parcel`).
        store::lock_parcel(&mut tx, &s.carrier_code, &s.tracking_number).await?;
        let (mut row, created) = store::insert_shipment(&mut tx, &s).await?;
        if created {
            for e in store::events(&mut tx, &s.carrier_code, &s.tracking_number).await? {
                row = ingest::apply(&mut tx, self.settings.late_tolerance, row, &e).await?;
            }
        }
        let answer = convert::shipment(&row);
        idempotency::complete(&mut tx, &who.caller_key(), method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    async fn timelines(&self, rows: Vec<ShipmentRow>) -> Result<Vec<ShipmentTimeline>, Error> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            let events = store::events(&mut conn, &s.carrier_code, &s.tracking_number).await?;
            out.push(ShipmentTimeline {
                shipment: Some(convert::shipment(&s)),
                events: events.iter().map(convert::event).collect(),
            });
        }
        Ok(out)
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
        let r = req.into_inner();
        let mut v = Violations::new();
        case_name(&mut v, &r.case_name);
        let leg = leg(&mut v, r.leg);
        let carrier = carrier(&mut v, &self.settings, &r.carrier_code);
        let tracking_ok = !r.tracking_number.is_empty()
            && r.tracking_number.len() <= 64
            && r.tracking_number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !tracking_ok {
            v.add("tracking_number", "1-64 letters, digits or '-'");
        }
        let promised = r.promised_delivery_time.as_ref().map(|t| {
            let p = from_ts(t);
            if p.is_none() {
                v.add("promised_delivery_time", "out of range");
            }
            p
        });
        v.check("request_id", idempotency::parse_request_id(&r.request_id));
        v.finish()?;
        let s = NewShipment {
            case_name: r.case_name.clone(),
            leg,
            carrier_code: carrier,
            tracking_number: r.tracking_number.clone(),
            status: ShipStatus::Registered as i16,
            promised_delivery_time: promised.flatten(),
            destination: r.destination.as_ref().map(Message::encode_to_vec),
            booking_id: None,
            pickup_address: None,
            window_start_time: None,
            window_end_time: None,
        };
        let answer = self
            .register(&who, "RegisterShipment", &r.request_id, &r, s)
            .await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(case = %req.get_ref().case_name))]
    async fn book_pickup(
        &self,
        req: Request<BookPickupRequest>,
    ) -> Result<Response<Shipment>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        case_name(&mut v, &r.case_name);
        let leg = leg(&mut v, r.leg);
        let carrier = carrier(&mut v, &self.settings, &r.carrier_code);
        if r.pickup_address.is_none() {
            v.add("pickup_address", "is required");
        }
        if r.destination.is_none() {
            v.add("destination", "is required");
        }
        let start = r.window_start_time.as_ref().and_then(from_ts);
        let end = r.window_end_time.as_ref().and_then(from_ts);
        match (start, end) {
            (Some(s), Some(e)) if s < e => {}
            (Some(_), Some(_)) => v.add("window_end_time", "must be after window_start_time"),
            _ => v.add("window_start_time", "both window times are required"),
        }
        v.check("request_id", idempotency::parse_request_id(&r.request_id));
        v.finish()?;

        // The booking id derives from the request id, so a retried call books nothing
        // new at the carrier: CarrierBooking deduplicates on it.
        let booking_id = request_id_for(&format!("logistics:pickup:{}", r.request_id));
        let mut booking = CarrierBookingClient::new(self.peers.get("platform")?);
        let pickup = booking
            .book_pickup(platform::BookPickupRequest {
                booking_id: booking_id.clone(),
                carrier_code: carrier.clone(),
                pickup_address: r.pickup_address.clone(),
                destination: r.destination.clone(),
                window_start_time: r.window_start_time,
                window_end_time: r.window_end_time,
            })
            .await
            .map_err(|s| match s.code() {
                tonic::Code::InvalidArgument => {
                    Error::invalid("carrier_code", s.message().to_string())
                }
                _ => Error::Unavailable(format!("carrier booking: {}", s.message())),
            })?
            .into_inner();
        let s = NewShipment {
            case_name: r.case_name.clone(),
            leg,
            carrier_code: carrier,
            tracking_number: pickup.tracking_number.clone(),
            status: ShipStatus::PickupBooked as i16,
            promised_delivery_time: None,
            destination: r.destination.as_ref().map(Message::encode_to_vec),
            booking_id: Some(booking_id),
            pickup_address: r.pickup_address.as_ref().map(Message::encode_to_vec),
            window_start_time: start,
            window_end_time: end,
        };
        let answer = self
            .register(&who, "BookPickup", &r.request_id, &r, s)
            .await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(carrier = %req.get_ref().carrier_code, event = %req.get_ref().event_id))]
    async fn report_carrier_event(
        &self,
        req: Request<ReportCarrierEventRequest>,
    ) -> Result<Response<ReportCarrierEventResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let e = ingest::parse(&r, &self.settings)?;
        if who.role == Role::Partner
            && !who
                .carrier
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(&e.carrier_code))
        {
            return Err(Error::PermissionDenied(
                "a partner reports only for its own carrier".into(),
            )
            .into());
        }
        let (duplicate, shipment) =
            ingest::report(&self.pool, self.settings.late_tolerance, &e).await?;
        Ok(Response::new(ReportCarrierEventResponse {
            duplicate,
            shipment: shipment.unwrap_or_default(),
        }))
    }

    async fn get_shipment(
        &self,
        req: Request<GetShipmentRequest>,
    ) -> Result<Response<Shipment>, Status> {
        let who = principal(&req)?;
        let name = req.into_inner().name;
        let row = store::get(&self.pool, shipment_id(&name)?)
            .await
            .map_err(Error::from)?
            .filter(|s| visible(&who, s))
            .ok_or_else(|| Error::NotFound {
                resource: "shipment",
                name: name.clone(),
            })?;
        Ok(Response::new(convert::shipment(&row)))
    }

    async fn get_shipment_timeline(
        &self,
        req: Request<GetShipmentTimelineRequest>,
    ) -> Result<Response<GetShipmentTimelineResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let by_tracking = !r.carrier_code.is_empty() || !r.tracking_number.is_empty();
        let chosen = [!r.name.is_empty(), !r.case_name.is_empty(), by_tracking]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen != 1 {
            return Err(Error::invalid(
                "name",
                "give exactly one of name, case_name, or carrier_code with tracking_number",
            )
            .into());
        }
        let rows = if !r.name.is_empty() {
            store::get(&self.pool, shipment_id(&r.name)?)
                .await
                .map_err(Error::from)?
                .into_iter()
                .collect()
        } else {
            let mut f = Filter::default();
            if by_tracking {
                if r.carrier_code.is_empty() || r.tracking_number.is_empty() {
                    return Err(Error::invalid(
                        "tracking_number",
                        "carrier_code and tracking_number go together",
                    )
                    .into());
                }
                f.carrier_code = Some(r.carrier_code.to_ascii_lowercase());
                f.tracking_number = Some(r.tracking_number.clone());
            } else {
                f.case_name = Some(r.case_name.clone());
            }
            store::list(&self.pool, &f, None, false, 100)
                .await
                .map_err(Error::from)?
        };
        let rows: Vec<ShipmentRow> = rows.into_iter().filter(|s| visible(&who, s)).collect();
        if rows.is_empty() && !r.name.is_empty() {
            return Err(Error::NotFound {
                resource: "shipment",
                name: r.name,
            }
            .into());
        }
        Ok(Response::new(GetShipmentTimelineResponse {
            timelines: self.timelines(rows).await?,
        }))
    }

    async fn list_shipments(
        &self,
        req: Request<ListShipmentsRequest>,
    ) -> Result<Response<ListShipmentsResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        if !(0..=100).contains(&r.page_size) {
            v.add("page_size", "must be between 0 (default 20) and 100");
        }
        let after = if r.page_token.is_empty() {
            None
        } else {
            v.check(
                "page_token",
                Uuid::parse_str(&r.page_token).map_err(|_| "is not a token from this list"),
            )
        };
        if r.leg != 0 && ShipmentLeg::try_from(r.leg).is_err() {
            v.add("leg", "unknown leg");
        }
        if r.statuses
            .iter()
            .any(|s| *s <= 0 || ShipmentStatus::try_from(*s).is_err())
        {
            v.add("statuses", "unknown status");
        }
        let mut f = Filter {
            case_name: (!r.case_name.is_empty()).then(|| r.case_name.clone()),
            carrier_code: (!r.carrier_code.is_empty()).then(|| r.carrier_code.to_ascii_lowercase()),
            tracking_number: None,
            leg: (r.leg != 0).then_some(r.leg as i16),
            statuses: r.statuses.iter().map(|s| *s as i16).collect(),
        };
        if who.role == Role::Partner {
            let own = who.carrier.clone().unwrap_or_default().to_ascii_lowercase();
            if f.carrier_code.as_ref().is_some_and(|c| *c != own) {
                v.add(
                    "carrier_code",
                    "a partner lists only its own carrier's shipments",
                );
            }
            f.carrier_code = Some(own);
        }
        v.finish()?;
        let limit = if r.page_size == 0 {
            20
        } else {
            r.page_size as i64
        };
        let mut rows = store::list(&self.pool, &f, after, true, limit + 1)
            .await
            .map_err(Error::from)?;
        let next_page_token = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|s| s.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListShipmentsResponse {
            shipments: rows.iter().map(convert::shipment).collect(),
            next_page_token,
        }))
    }
}
