//! Stored shipments and events rendered as the contract's messages.

use aftersales_proto::aftersales::{
    common::v1::Address,
    logistics::v1::{PickupInfo, Shipment, TrackingEvent},
};
use kit::time::ts;
use prost::Message;

use crate::store::{EventRow, ShipmentRow};

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
