//! The contract's requests (and the webhook's events) parsed into what the handlers act
//! on, collecting every bad field into one INVALID_ARGUMENT. One parser per input, so
//! the gRPC door and the signed webhook take exactly the same carrier events.

use aftersales_proto::aftersales::logistics::v1::{
    BookPickupRequest, GetShipmentTimelineRequest, ListShipmentsRequest, RegisterShipmentRequest,
    ReportCarrierEventRequest, ShipmentLeg, ShipmentStatus,
};
use chrono::{DateTime, Utc};
use kit::{
    Error,
    auth::{Principal, Role},
    error::Violations,
    page::{self, Page},
    time::from_ts,
    validate,
};
use prost::Message;
use uuid::Uuid;

use crate::{
    domain::status::{Reported, Status},
    names,
    settings::Settings,
    store::{EventRow, Filter, NewShipment},
};

/// How far in the future a carrier's clock may be before its event is refused.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::hours(1);

fn leg(v: &mut Violations, raw: i32) -> i16 {
    if raw <= 0 || ShipmentLeg::try_from(raw).is_err() {
        v.add(
            "leg",
            "is required: RETURN, REPLACEMENT, REPAIR_INBOUND or REPAIR_OUTBOUND",
        );
    }
    raw as i16
}

/// A carrier code we work with, normalised to lower case. Logistics knows its carriers
/// (`LOGISTICS_CARRIERS`), so membership is the rule here rather than the shape that
/// `kit::validate::carrier_code` checks for services that pass a code on.
fn carrier(v: &mut Violations, settings: &Settings, raw: &str) -> String {
    let c = raw.to_ascii_lowercase();
    if c.is_empty() {
        v.add("carrier_code", "is required");
    } else if !settings.carriers.contains(&c) {
        v.add("carrier_code", "unknown carrier");
    }
    c
}

/// RegisterShipmentRequest: a parcel the case owner already has a tracking number for.
pub fn register(r: &RegisterShipmentRequest, settings: &Settings) -> kit::Result<NewShipment> {
    let mut v = Violations::new();
    validate::case_name(&mut v, "case_name", &r.case_name);
    let leg = leg(&mut v, r.leg);
    let carrier = carrier(&mut v, settings, &r.carrier_code);
    validate::tracking_number(&mut v, "tracking_number", &r.tracking_number);
    let promised = r.promised_delivery_time.as_ref().map(|t| {
        let p = from_ts(t);
        if p.is_none() {
            v.add("promised_delivery_time", "out of range");
        }
        p
    });
    parties(&mut v, &r.buyer_id, &r.merchant_id);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(NewShipment {
        case_name: r.case_name.clone(),
        leg,
        carrier_code: carrier,
        tracking_number: r.tracking_number.clone(),
        status: Status::Registered as i16,
        promised_delivery_time: promised.flatten(),
        destination: r.destination.as_ref().map(Message::encode_to_vec),
        booking_id: None,
        pickup_address: None,
        window_start_time: None,
        window_end_time: None,
        buyer_id: r.buyer_id.clone(),
        merchant_id: r.merchant_id.clone(),
    })
}

/// The case's parties, optional: ids as the platform issues them (no whitespace), so a
/// typo cannot hand a shipment to someone whose id merely looks alike.
fn parties(v: &mut Violations, buyer_id: &str, merchant_id: &str) {
    for (field, id) in [("buyer_id", buyer_id), ("merchant_id", merchant_id)] {
        if id.len() > 100 || id.chars().any(char::is_whitespace) {
            v.add(field, "at most 100 bytes, without whitespace");
        }
    }
}

/// A parsed BookPickupRequest.
pub struct Pickup {
    pub leg: i16,
    pub carrier: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// BookPickupRequest: both addresses and a window that ends after it starts.
pub fn pickup(r: &BookPickupRequest, settings: &Settings) -> kit::Result<Pickup> {
    let mut v = Violations::new();
    validate::case_name(&mut v, "case_name", &r.case_name);
    let leg = leg(&mut v, r.leg);
    let carrier = carrier(&mut v, settings, &r.carrier_code);
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
    parties(&mut v, &r.buyer_id, &r.merchant_id);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(Pickup {
        leg,
        carrier,
        start: start.expect("validated"),
        end: end.expect("validated"),
    })
}

/// A carrier event (ReportCarrierEvent or the webhook) checked against the contract and
/// the known carriers; its carrier code normalised to lower case.
pub fn carrier_event(r: &ReportCarrierEventRequest, settings: &Settings) -> kit::Result<EventRow> {
    let mut v = Violations::new();
    if r.event_id.is_empty() || r.event_id.len() > 128 {
        v.add("event_id", "is required, at most 128 bytes");
    }
    let carrier = carrier(&mut v, settings, &r.carrier_code);
    validate::tracking_number(&mut v, "tracking_number", &r.tracking_number);
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
    validate::text(&mut v, "location", &r.location, 500);
    validate::text(&mut v, "description", &r.description, 2000);
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
        // the door that took it says who reported it
        reporter_role: String::new(),
        reporter_id: String::new(),
    })
}

/// The shipments `who` may read, narrowed in the query: a buyer's or a merchant's own
/// cases' only (the parties given at registration), a partner's own carrier's only.
fn own(who: &Principal, f: &mut Filter) {
    match who.role {
        Role::Buyer => f.buyer_id = Some(who.id.clone()),
        Role::Merchant => f.merchant_id = Some(who.id.clone()),
        _ => {}
    }
}

/// Which shipments a GetShipmentTimeline asks for.
pub enum Timeline {
    /// One shipment by name.
    Name(Uuid),
    /// Every shipment of a case, or of a carrier's tracking number.
    Filter(Filter),
}

/// GetShipmentTimelineRequest: exactly one of name, case_name, or carrier_code with
/// tracking_number.
pub fn timeline(who: &Principal, r: &GetShipmentTimelineRequest) -> kit::Result<Timeline> {
    let by_tracking = !r.carrier_code.is_empty() || !r.tracking_number.is_empty();
    let chosen = [!r.name.is_empty(), !r.case_name.is_empty(), by_tracking]
        .iter()
        .filter(|b| **b)
        .count();
    if chosen != 1 {
        return Err(Error::invalid(
            "name",
            "give exactly one of name, case_name, or carrier_code with tracking_number",
        ));
    }
    if !r.name.is_empty() {
        return Ok(Timeline::Name(names::shipment_id(&r.name)?));
    }
    let mut f = Filter::default();
    if by_tracking {
        if r.carrier_code.is_empty() || r.tracking_number.is_empty() {
            return Err(Error::invalid(
                "tracking_number",
                "carrier_code and tracking_number go together",
            ));
        }
        f.carrier_code = Some(r.carrier_code.to_ascii_lowercase());
        f.tracking_number = Some(r.tracking_number.clone());
    } else {
        f.case_name = Some(r.case_name.clone());
    }
    own(who, &mut f);
    Ok(Timeline::Filter(f))
}

/// ListShipmentsRequest as the caller may see it: a partner lists only its own carrier's
/// shipments, a buyer or a merchant only their own cases'.
pub fn list(who: &Principal, r: &ListShipmentsRequest) -> kit::Result<(Filter, Page<Uuid>)> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
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
        ..Default::default()
    };
    own(who, &mut f);
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
    Ok((f, page))
}
