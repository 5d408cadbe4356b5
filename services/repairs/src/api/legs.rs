//! The parcels beside the main steps: a door-to-door pickup of the item booked through
//! logistics, the buyer's withdrawal before the item is on its way, and the spare unit
//! out to the buyer and back.

use aftersales_proto::aftersales::{
    logistics::v1::{
        BookPickupRequest, ShipmentLeg, logistics_service_client::LogisticsServiceClient,
    },
    repairs::v1::{
        BookRepairPickupRequest, CancelRepairRequest, Repair as ProtoRepair,
        ReturnSpareUnitRequest, ShipSpareUnitRequest,
    },
};
use chrono::Utc;
use kit::{Error, auth::Principal, idempotency, outbox::request_id_for};
use tonic::Code;

use super::{Api, steps::Step};
use crate::{
    domain::machine::{self, Command},
    error::not_found,
    names, parse, render, store,
};

fn step<'a>(name: &'a str, method: &'static str, request_id: &'a str) -> Step<'a> {
    Step {
        name,
        method,
        request_id,
        reason: "",
    }
}

/// Logistics' refusal of a booking as this call's: its bad fields passed on (they are
/// this request's too), another window for the round's booking PICKUP_ALREADY_BOOKED.
fn booking_error(name: &str, s: &tonic::Status) -> Error {
    match s.code() {
        Code::InvalidArgument => {
            let v = kit::error::peer_violations(s);
            if v.iter().any(|f| f.field == "request_id") {
                return Error::FailedPrecondition {
                    reason: "PICKUP_ALREADY_BOOKED",
                    kind: "STATE",
                    subject: name.to_string(),
                    description: "a courier was booked for this repair with another window".into(),
                };
            }
            match v.is_empty() {
                true => Error::invalid("carrier_code", s.message().to_string()),
                false => Error::InvalidArgument(v),
            }
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted => {
            Error::Unavailable(format!("logistics: {}", s.message()))
        }
        _ => Error::Internal(anyhow::anyhow!("logistics BookPickup: {s}")),
    }
}

impl Api {
    /// Books the courier through logistics, then records its parcel as the item's. One
    /// courier per round: the booking's key is the repair's round, not the caller's
    /// request id, so concurrent or repeated calls book one (logistics replays the same
    /// booking, or refuses another window for it: PICKUP_ALREADY_BOOKED), and a booked
    /// parcel is not replaced.
    pub(super) async fn book_pickup(
        &self,
        who: &Principal,
        r: BookRepairPickupRequest,
    ) -> kit::Result<ProtoRepair> {
        let p = parse::pickup(&r)?;
        let key = (who.caller_key(), "BookRepairPickup", r.request_id.clone());
        let key = (key.0.as_str(), key.1, key.2.as_str());
        if let Some(answer) = idempotency::earlier_answer(&self.pool, key, &r).await? {
            return Ok(answer);
        }
        let id = names::repair_id("name", &r.name)?;
        let repair = store::get(&self.pool, id)
            .await?
            .filter(|x| who.can_see_case(&x.buyer_id, &x.merchant_id))
            .ok_or_else(|| not_found(&r.name))?;
        // the rules first: no courier is sent for a repair that cannot take the parcel
        let probe = Command::ItemShipped {
            carrier: p.carrier.clone(),
            tracking: String::new(),
            booked: true,
        };
        machine::apply(&repair, probe, Utc::now(), &self.settings.spans)?;
        let from = p
            .address
            .or_else(|| repair.return_address.as_ref().map(render::address))
            .ok_or_else(|| {
                Error::invalid(
                    "pickup_address",
                    "is required: the repair has no return address",
                )
            })?;
        let booking = BookPickupRequest {
            case_name: r.name.clone(),
            leg: ShipmentLeg::RepairInbound as i32,
            carrier_code: p.carrier,
            pickup_address: Some(from),
            destination: repair.repair_address.as_ref().map(render::address),
            window_start_time: r.window_start_time,
            window_end_time: r.window_end_time,
            request_id: request_id_for(&format!("{}:pickup:{}", r.name, repair.round)),
            buyer_id: repair.buyer_id.clone(),
            merchant_id: repair.merchant_id.clone(),
        };
        let shipment = LogisticsServiceClient::new(self.peers.get("logistics")?)
            .book_pickup(booking)
            .await
            .map_err(|s| booking_error(&r.name, &s))?
            .into_inner();
        let cmd = Command::ItemShipped {
            carrier: shipment.carrier_code,
            tracking: shipment.tracking_number,
            booked: true,
        };
        self.act(
            who,
            step(&r.name, "BookRepairPickup", &r.request_id),
            &r,
            cmd,
        )
        .await
    }

    pub(super) async fn cancel(
        &self,
        who: &Principal,
        r: CancelRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let reason = parse::step_text("reason", &r.reason, false, &r.request_id)?;
        let mut s = step(&r.name, "CancelRepair", &r.request_id);
        s.reason = &r.reason;
        let reason = match reason.trim() {
            "" => "withdrawn by the buyer".to_string(),
            _ => reason,
        };
        self.act(who, s, &r, Command::Cancel { reason }).await
    }

    pub(super) async fn ship_spare(
        &self,
        who: &Principal,
        r: ShipSpareUnitRequest,
    ) -> kit::Result<ProtoRepair> {
        let (carrier, tracking) =
            parse::parcel(&r.carrier_code, &r.tracking_number, &r.request_id)?;
        let s = step(&r.name, "ShipSpareUnit", &r.request_id);
        self.act(who, s, &r, Command::ShipSpare { carrier, tracking })
            .await
    }

    pub(super) async fn return_spare(
        &self,
        who: &Principal,
        r: ReturnSpareUnitRequest,
    ) -> kit::Result<ProtoRepair> {
        let (carrier, tracking) =
            parse::parcel(&r.carrier_code, &r.tracking_number, &r.request_id)?;
        let s = step(&r.name, "ReturnSpareUnit", &r.request_id);
        self.act(who, s, &r, Command::ReturnSpare { carrier, tracking })
            .await
    }
}
