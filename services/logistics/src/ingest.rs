//! Carrier events in: validated once for both doors (gRPC and the signed webhook),
//! stored once per (carrier, event id), applied to the shipments of their tracking
//! number under a row lock, and announced through the outbox in the same transaction.

use std::time::Duration;

use aftersales_proto::aftersales::logistics::v1::{
    ReportCarrierEventRequest, ShipmentDelivered, ShipmentDeliveredLate, ShipmentException,
    ShipmentStatusChanged,
};
use chrono::{DateTime, Utc};
use kit::{Error, error::Violations, outbox::publish_event, time::from_ts};
use sqlx::{PgConnection, PgPool};

use crate::{
    convert,
    domain::status::{self, Position, Reported, Status},
    settings::Settings,
    store::{self, EventRow, Move, ShipmentRow},
};

const SOURCE: &str = "logistics";
const TOPIC: &str = "logistics";

/// How far in the future a carrier's clock may be before its event is refused.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// Checks an event against the contract and the known carriers. `carrier` is the
/// normalised (lower-case) carrier code.
pub fn parse(r: &ReportCarrierEventRequest, settings: &Settings) -> Result<EventRow, Error> {
    let mut v = Violations::new();
    if r.event_id.is_empty() || r.event_id.len() > 128 {
        v.add("event_id", "is required, at most 128 bytes");
    }
    let carrier = r.carrier_code.to_ascii_lowercase();
    if carrier.is_empty() {
        v.add("carrier_code", "is required");
    } else if !settings.carriers.contains(&carrier) {
        v.add("carrier_code", "unknown carrier");
    }
    let tracking_ok = !r.tracking_number.is_empty()
        && r.tracking_number.len() <= 64
        && r.tracking_number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !tracking_ok {
        v.add("tracking_number", "1-64 letters, digits or '-'");
    }
    let status = Reported::from_i32(r.status);
    if status.is_none() {
        v.add(
            "status",
            "is required: one of the CarrierEventStatus values",
        );
    }
    let time = r.event_time.as_ref().and_then(from_ts);
    match time {
        None => v.add("event_time", "is required"),
        Some(t) if t > Utc::now() + CLOCK_SKEW => v.add("event_time", "is in the future"),
        Some(_) => {}
    }
    if r.location.len() > 500 {
        v.add("location", "at most 500 bytes");
    }
    if r.description.len() > 2000 {
        v.add("description", "at most 2000 bytes");
    }
    v.finish()?;
    Ok(EventRow {
        carrier_code: carrier,
        event_id: r.event_id.clone(),
        tracking_number: r.tracking_number.clone(),
        status: status.expect("validated") as i16,
        event_time: time.expect("validated"),
        location: r.location.clone(),
        description: r.description.clone(),
        receive_time: Utc::now(),
    })
}

/// Stores `e` and applies it. Returns whether it was a duplicate and the shipment it
/// applies to (the first registered for its tracking number, if any).
pub async fn report(
    pool: &PgPool,
    late: Duration,
    e: &EventRow,
) -> Result<(bool, Option<String>), Error> {
    let mut tx = pool.begin().await?;
    store::lock_parcel(&mut tx, &e.carrier_code, &e.tracking_number).await?;
    let fresh = store::insert_event(&mut tx, e).await?;
    let shipments = store::lock_tracking(&mut tx, &e.carrier_code, &e.tracking_number).await?;
    let first = shipments.first().map(ShipmentRow::name);
    if fresh {
        for s in shipments {
            apply(&mut tx, late, s, e).await?;
        }
    }
    tx.commit().await?;
    Ok((!fresh, first))
}

/// Applies one event to one (locked) shipment, publishing what changed.
pub async fn apply(
    tx: &mut PgConnection,
    late: Duration,
    s: ShipmentRow,
    e: &EventRow,
) -> Result<ShipmentRow, Error> {
    let Some(reported) = Reported::from_i32(e.status as i32) else {
        return Ok(s);
    };
    let from = Status::from_i16(s.status).unwrap_or(Status::Registered);
    let at = Position {
        status: from,
        last_event_time: s.last_event_time,
    };
    let Some(to) = status::apply(at, reported, e.event_time) else {
        return Ok(s);
    };
    let delivered = (to.status == Status::Delivered).then_some(e.event_time);
    let delay = delivered.and_then(|d| {
        status::late_by(
            s.promised_delivery_time,
            d,
            chrono::Duration::from_std(late).unwrap_or_default(),
        )
    });
    let row = store::update(
        tx,
        s.id,
        &Move {
            status: to.status as i16,
            last_event_time: to.last_event_time,
            delivered_time: delivered,
            delivered_late: delay.is_some(),
        },
    )
    .await?;
    if to.status != from {
        announce(tx, &row, from, e, delivered, delay).await?;
    }
    Ok(row)
}

async fn announce(
    tx: &mut PgConnection,
    row: &ShipmentRow,
    from: Status,
    e: &EventRow,
    delivered: Option<DateTime<Utc>>,
    delay: Option<chrono::Duration>,
) -> Result<(), sqlx::Error> {
    let shipment = convert::shipment(row);
    let subject = row.name();
    let changed = ShipmentStatusChanged {
        shipment: Some(shipment.clone()),
        from_status: from as i32,
        event: Some(convert::event(e)),
    };
    publish_event(tx, SOURCE, TOPIC, &subject, &changed).await?;
    if let Some(at) = delivered {
        let ev = ShipmentDelivered {
            shipment: Some(shipment.clone()),
            delivered_time: Some(kit::time::ts(at)),
        };
        publish_event(tx, SOURCE, TOPIC, &subject, &ev).await?;
    }
    if let Some(d) = delay {
        let ev = ShipmentDeliveredLate {
            shipment: Some(shipment.clone()),
            delay: Some(prost_types::Duration {
                seconds: d.num_seconds(),
                nanos: 0,
            }),
        };
        publish_event(tx, SOURCE, TOPIC, &subject, &ev).await?;
    }
    if e.status == Reported::Exception as i16 {
        let ev = ShipmentException {
            shipment: Some(shipment),
            event: Some(convert::event(e)),
        };
        publish_event(tx, SOURCE, TOPIC, &subject, &ev).await?;
    }
    Ok(())
}
