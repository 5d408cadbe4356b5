//! The platform's own records attached to a new ticket (SPEC §6: "the platform can attach
//! transaction and chat records"): the order's transaction facts from the order
//! directory and, for a ticket about a case, the logistics timeline of that case's
//! shipments. Only facts, never the payment reference or the scan locations (minimum
//! necessary: the merchant reads the ticket's evidence too).

use aftersales_proto::aftersales::{
    logistics::v1::{GetShipmentTimelineRequest, logistics_service_client::LogisticsServiceClient},
    platform::v1::Order,
};
use chrono::{DateTime, Utc};
use kit::{client::Peers, time::from_ts};

use crate::domain::ticket::Submission;

fn at(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(from_ts)
        .map_or("-".into(), |t| t.to_rfc3339())
}

/// The order's transaction facts, one line each.
fn transaction(o: &Order) -> Vec<String> {
    let mut lines = vec![format!("order {}: paid {}", o.name, at(&o.paid_time))];
    for l in &o.lines {
        let paid = l.paid_amount.clone().unwrap_or_default();
        lines.push(format!(
            "line {} ({}): {} x {}, paid {} {}",
            l.id, l.category, l.quantity, l.sku, paid.amount_minor, paid.currency
        ));
    }
    lines.push(format!(
        "shipped {} by {} {}, promised {}, signed for {}",
        at(&o.shipped_time),
        o.carrier_code,
        o.tracking_number,
        at(&o.promised_delivery_time),
        at(&o.signed_for_time)
    ));
    lines
}

/// The logistics timeline of `case`'s shipments, one line per carrier event (status and
/// the carrier's text, no location). Unavailable logistics is said, not fatal.
async fn timeline(peers: &Peers, case: &str) -> Vec<String> {
    let client = peers.get("logistics").map(LogisticsServiceClient::new);
    let answer = match client {
        Ok(mut c) => {
            c.get_shipment_timeline(GetShipmentTimelineRequest {
                case_name: case.into(),
                ..Default::default()
            })
            .await
        }
        Err(e) => Err(tonic::Status::from(e)),
    };
    match answer {
        Ok(r) => r
            .into_inner()
            .timelines
            .iter()
            .flat_map(|t| {
                let s = t.shipment.clone().unwrap_or_default();
                let head = format!(
                    "shipment {} ({} {})",
                    s.name, s.carrier_code, s.tracking_number
                );
                std::iter::once(head).chain(t.events.iter().map(|e| {
                    format!(
                        "  {} status {} {}",
                        at(&e.event_time),
                        e.status,
                        e.description
                    )
                }))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(case, error = %e.message(), "logistics timeline not attached");
            vec![format!(
                "logistics timeline of {case} unavailable at filing"
            )]
        }
    }
}

/// The platform's submission for a new ticket about `order` (and `case`, if any).
pub async fn attach(
    peers: &Peers,
    order: &Order,
    case: Option<&str>,
    now: DateTime<Utc>,
) -> Submission {
    let mut lines = transaction(order);
    if let Some(case) = case {
        lines.extend(timeline(peers, case).await);
    }
    Submission {
        role: "service".into(),
        actor_id: "platform".into(),
        statement: lines.join("\n"),
        evidence: Vec::new(),
        at: now,
    }
}
