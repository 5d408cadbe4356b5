//! RegisterShipment and BookPickup: a shipment recorded (or found) with its parties and
//! its audit row, the events already received for its tracking number applied, in one
//! idempotent transaction; a pickup booked through the platform's CarrierBooking first.

use aftersales_proto::aftersales::{
    logistics::v1::{BookPickupRequest, RegisterShipmentRequest, Shipment},
    platform::v1::{self as platform, carrier_booking_client::CarrierBookingClient},
};
use kit::{
    Error,
    auth::Principal,
    idempotency::{self, Claim},
    outbox::request_id_for,
};
use prost::Message;

use super::Api;
use crate::{
    domain::status::Status,
    ingest, parse, render,
    store::{self, Audit, NewShipment},
};

impl Api {
    pub(super) async fn register_shipment(
        &self,
        who: &Principal,
        r: RegisterShipmentRequest,
    ) -> kit::Result<Shipment> {
        let s = parse::register(&r, &self.settings)?;
        self.register(who, ("RegisterShipment", "register"), &r.request_id, &r, s)
            .await
    }

    pub(super) async fn book_pickup(
        &self,
        who: &Principal,
        r: BookPickupRequest,
    ) -> kit::Result<Shipment> {
        let p = parse::pickup(&r, &self.settings)?;
        // The booking id derives from the request id, so a retried call books nothing
        // new at the carrier: CarrierBooking deduplicates on it.
        let booking_id = request_id_for(&format!("logistics:pickup:{}", r.request_id));
        let mut booking = CarrierBookingClient::new(self.peers.get("platform")?);
        let pickup = booking
            .book_pickup(platform::BookPickupRequest {
                booking_id: booking_id.clone(),
                carrier_code: p.carrier.clone(),
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
            leg: p.leg,
            carrier_code: p.carrier,
            tracking_number: pickup.tracking_number.clone(),
            status: Status::PickupBooked as i16,
            promised_delivery_time: None,
            destination: r.destination.as_ref().map(Message::encode_to_vec),
            booking_id: Some(booking_id),
            pickup_address: r.pickup_address.as_ref().map(Message::encode_to_vec),
            window_start_time: Some(p.start),
            window_end_time: Some(p.end),
            buyer_id: r.buyer_id.clone(),
            merchant_id: r.merchant_id.clone(),
        };
        self.register(who, ("BookPickup", "book_pickup"), &r.request_id, &r, s)
            .await
    }

    /// Registers `s` (or finds it) and applies the events already received for its
    /// tracking number, in one transaction with its audit row (as `action`) and the
    /// idempotency record.
    async fn register(
        &self,
        who: &Principal,
        (method, action): (&str, &str),
        request_id: &str,
        request: &impl Message,
        s: NewShipment,
    ) -> kit::Result<Shipment> {
        let mut tx = self.pool.begin().await?;
        // A registration is keyed by its parcel and case: done again past the idempotency
        // retention it finds the shipment and answers it, so the replay is a new request.
        // A booking sends a courier: past the retention its replay is refused.
        let caller = who.caller_key();
        let claim = if method == "RegisterShipment" {
            idempotency::claim_renewable(&mut tx, &caller, method, request_id, request).await?
        } else {
            idempotency::claim(&mut tx, &caller, method, request_id, request).await?
        };
        if let Claim::Replay(bytes) = claim {
            return idempotency::decode_replay(&bytes);
        }
        // Serialise with concurrent events of this parcel (see `store::lock_parcel`).
        store::lock_parcel(&mut tx, &s.carrier_code, &s.tracking_number).await?;
        let (mut row, created) = store::insert_shipment(&mut tx, &s).await?;
        if created {
            let reason = format!(
                "{} {} registered for {}",
                row.carrier_code, row.tracking_number, row.case_name
            );
            let audit = Audit {
                actor: (who.role.as_str(), &who.id),
                from: None,
                to: row.status,
                action,
                reason: &reason,
                request_id,
            };
            store::audit(&mut tx, row.id, &audit).await?;
            for e in store::events(&mut tx, &s.carrier_code, &s.tracking_number).await? {
                row = ingest::apply(&mut tx, self.settings.late_tolerance, row, &e).await?;
            }
        }
        let answer = render::shipment(&row);
        idempotency::complete(&mut tx, &caller, method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
