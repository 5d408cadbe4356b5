//! Stored shipments, events and audit rows rendered as the contract's messages: whole
//! for the readers of the API, trimmed to facts and names for domain events.

use aftersales_proto::aftersales::{
    common::v1::{Address, AuditEntry},
    logistics::v1::{PickupInfo, Shipment, TrackingEvent},
};
use kit::{audit, time::ts};
use prost::Message;

use crate::{
    domain::status::Status,
    store::{AuditRow, EventRow, ShipmentRow},
};

fn address(bytes: &Option<Vec<u8>>) -> Option<Address> {
    bytes.as_deref().and_then(|b| Address::decode(b).ok())
}

/// The contract's view of a stored shipment.
pub fn shipment(s: &ShipmentRow) -> Shipment {
    Shipment {
        name: s.name(),
        case_name: s.case_name.clone(),
        leg: s.leg as i32,
        carrier_code: s.carrier_code.clone(),
        tracking_number: s.tracking_number.clone(),
        status: s.status as i32,
        promised_delivery_time: s.promised_delivery_time.map(ts),
        pickup: s.booking_id.as_ref().map(|b| PickupInfo {
            booking_id: b.clone(),
            pickup_address: address(&s.pickup_address),
            window_start_time: s.window_start_time.map(ts),
            window_end_time: s.window_end_time.map(ts),
        }),
        destination: address(&s.destination),
        last_event_time: s.last_event_time.map(ts),
        delivered_time: s.delivered_time.map(ts),
        delivered_late: s.delivered_late,
        create_time: Some(ts(s.create_time)),
        update_time: Some(ts(s.update_time)),
    }
}

/// The contract's view of a stored carrier event.
pub fn event(e: &EventRow) -> TrackingEvent {
    TrackingEvent {
        event_id: e.event_id.clone(),
        status: e.status as i32,
        event_time: Some(ts(e.event_time)),
        location: e.location.clone(),
        description: e.description.clone(),
        receive_time: Some(ts(e.receive_time)),
    }
}

/// A shipment as domain events carry it (PIPL, minimum necessary): facts and names only.
/// No destination, no pickup (addresses and their contacts): events reach every consumer
/// of the stream, and the case owner needs the case, the leg, the status and its times.
pub fn event_shipment(s: &ShipmentRow) -> Shipment {
    Shipment {
        destination: None,
        pickup: None,
        ..shipment(s)
    }
}

/// A carrier event as domain events carry it: what happened, when, and the carrier's
/// status text (returns shows why a parcel was lost or sent back), without the scan's
/// location, which no consumer needs (it may be a locker at the buyer's door);
/// GetShipmentTimeline has it for those who may read it.
pub fn event_tracking(e: &EventRow) -> TrackingEvent {
    TrackingEvent {
        location: String::new(),
        ..event(e)
    }
}

/// An audit row for callers.
pub fn audit(a: &AuditRow) -> AuditEntry {
    let state = |s: i16| Status::from_i16(s).map_or("", Status::as_str);
    audit::entry(audit::Row {
        at: a.at,
        actor: (&a.actor_role, &a.actor_id),
        from_state: a.from_state.map(state),
        to_state: state(a.to_state),
        action: &a.action,
        reason: &a.reason,
        request_id: &a.request_id,
    })
}
