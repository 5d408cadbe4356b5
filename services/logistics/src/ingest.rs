//! Carrier events in (parsed once for both doors, gRPC and the signed webhook, by
//! `parse::carrier_event`): stored once per (carrier, event id), applied to the shipments
//! of their tracking number under a row lock, audited, and announced through the outbox
//! in the same transaction (the events trimmed to facts and names, `render::event_*`).

use std::time::Duration;

use aftersales_proto::aftersales::logistics::v1::{
    ShipmentDelivered, ShipmentDeliveredLate, ShipmentException, ShipmentStatusChanged,
};
use chrono::{DateTime, Utc};
use kit::{Error, outbox::publish_event};
use sqlx::{PgConnection, PgPool};

use crate::{
    domain::status::{self, Position, Reported, Status},
    render,
    store::{self, Audit, EventRow, Move, ShipmentRow},
};

const SOURCE: &str = "logistics";
const TOPIC: &str = "logistics";

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
        // The reporter of the event moved it; an event stored before reporters were kept
        // is the carrier's own word.
        let actor = if e.reporter_id.is_empty() {
            ("partner", e.carrier_code.as_str())
        } else {
            (e.reporter_role.as_str(), e.reporter_id.as_str())
        };
        let reason = format!(
            "carrier event {}: {}",
            e.event_id,
            reported.status().as_str()
        );
        let audit = Audit {
            actor,
            from: Some(from as i16),
            to: to.status as i16,
            action: "carrier_event",
            reason: &reason,
            request_id: "",
        };
        store::audit(tx, row.id, &audit).await?;
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
    let shipment = render::event_shipment(row);
    let subject = row.name();
    let changed = ShipmentStatusChanged {
        shipment: Some(shipment.clone()),
        from_status: from as i32,
        event: Some(render::event_tracking(e)),
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
            event: Some(render::event_tracking(e)),
        };
        publish_event(tx, SOURCE, TOPIC, &subject, &ev).await?;
    }
    Ok(())
}
