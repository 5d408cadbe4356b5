//! Requests checked into the values the rules take: every bad field named at once
//! (INVALID_ARGUMENT with field violations), nothing written before it passes.

use aftersales_proto::aftersales::{
    common::v1::{Address as ProtoAddress, EvidenceRef},
    repairs::v1::{
        AcceptRepairRequest, AcknowledgeRepairRequest, BookRepairPickupRequest,
        CreateRepairRequest, DeclineRepairRequest, DiagnoseRepairRequest, ExtendRepairRequest,
        GetRepairRequest, ListRepairsRequest, QuoteRepairRequest, ReportRepairProgressRequest,
    },
};
use chrono::{DateTime, Utc};
use kit::{
    auth::{Principal, Role},
    error::Violations,
    page::{self, Page},
    validate,
};
use uuid::Uuid;

use crate::{
    domain::{
        quote::{Grade, Labour, Part},
        repair::Address,
    },
    names,
    store::Filter,
};

const TEXT_MAX: usize = 4_000;
const SHORT_MAX: usize = 200;

/// What a CreateRepair asks for, once every field is valid.
pub struct NewRepair {
    pub order_id: String,
    pub order_line_id: String,
    pub buyer: String,
}

pub fn evidence(items: &[EvidenceRef]) -> Vec<String> {
    items.iter().map(|e| e.uri.clone()).collect()
}

pub fn create(r: &CreateRepairRequest, who: &Principal) -> kit::Result<NewRepair> {
    let mut v = Violations::new();
    let order_id = kit::names::strip("orders", &r.order_id).to_string();
    if order_id.is_empty() || order_id.len() > 64 {
        v.add("order_id", "is required (at most 64 bytes)");
    }
    if r.order_line_id.is_empty() || r.order_line_id.len() > 64 {
        v.add("order_line_id", "is required (at most 64 bytes)");
    }
    validate::required_text(&mut v, "fault_description", &r.fault_description, TEXT_MAX);
    validate::text(&mut v, "product_model", &r.product_model, SHORT_MAX);
    validate::evidence(&mut v, "evidence", &r.evidence);
    validate::request_id(&mut v, &r.request_id);
    let buyer = match who.role {
        Role::Buyer if !r.on_behalf_of_buyer_id.is_empty() => {
            v.add("on_behalf_of_buyer_id", "only an agent files for a buyer");
            String::new()
        }
        Role::Buyer => who.id.clone(),
        _ if r.on_behalf_of_buyer_id.is_empty() => {
            v.add("on_behalf_of_buyer_id", "required when filing for a buyer");
            String::new()
        }
        _ => r.on_behalf_of_buyer_id.clone(),
    };
    v.finish()?;
    Ok(NewRepair {
        order_id,
        order_line_id: r.order_line_id.clone(),
        buyer,
    })
}

/// GetRepair: by name or by number, exactly one.
pub enum Lookup {
    Id(Uuid),
    Number(String),
}

pub fn get(r: &GetRepairRequest) -> kit::Result<Lookup> {
    match (r.name.is_empty(), r.repair_number.is_empty()) {
        (false, true) => Ok(Lookup::Id(names::repair_id("name", &r.name)?)),
        (true, false)
            if kit::names::looks_like_case_number(names::NUMBER_PREFIX, &r.repair_number) =>
        {
            Ok(Lookup::Number(r.repair_number.clone()))
        }
        (true, false) => Err(kit::Error::invalid(
            "repair_number",
            "a repair number, e.g. WX20260302-000042",
        )),
        _ => Err(kit::Error::invalid(
            "name",
            "exactly one of name and repair_number",
        )),
    }
}

pub fn list(r: &ListRepairsRequest, who: &Principal) -> kit::Result<(Filter, Page<Uuid>)> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
    let mut states = Vec::new();
    for s in &r.states {
        match crate::domain::kinds::State::from_i32(*s) {
            Some(s) => states.push(s as i16),
            None => v.add("states", "known states only"),
        }
    }
    if !r.order_by.is_empty() && r.order_by != "create_time desc" {
        v.add("order_by", "only \"create_time desc\"");
    }
    v.finish()?;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut f = Filter {
        order_id: opt(&r.order_id),
        states,
        ..Default::default()
    };
    // a buyer lists its own, a merchant its shop's, staff any
    match who.role {
        Role::Buyer => f.buyer_id = Some(who.id.clone()),
        Role::Merchant => f.merchant_id = Some(who.id.clone()),
        _ => {
            f.buyer_id = opt(&r.buyer_id);
            f.merchant_id = opt(&r.merchant_id);
        }
    }
    Ok((f, page))
}

pub fn acknowledge(r: &AcknowledgeRepairRequest) -> kit::Result<String> {
    let mut v = Violations::new();
    validate::text(&mut v, "message", &r.message, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(r.message.clone())
}

/// The domain's copy of an address.
pub fn address(a: &ProtoAddress) -> Address {
    Address {
        contact_name: a.contact_name.clone(),
        phone: a.phone.clone(),
        country_code: a.country_code.clone(),
        province: a.province.clone(),
        city: a.city.clone(),
        district: a.district.clone(),
        street: a.street.clone(),
        postal_code: a.postal_code.clone(),
    }
}

/// AcceptRepair: where the buyer sends the item is required (a contact, a phone, the
/// city and the street at least).
pub fn accept(r: &AcceptRepairRequest) -> kit::Result<Address> {
    let mut v = Violations::new();
    validate::text(&mut v, "message", &r.message, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    let a = r.repair_address.clone().unwrap_or_default();
    postal(&mut v, "repair_address", &a);
    v.finish()?;
    Ok(address(&a))
}

/// An address a parcel can be sent to: a contact, a phone, the city and the street at
/// least.
fn postal(v: &mut Violations, field: &str, a: &ProtoAddress) {
    for (part, value) in [
        ("contact_name", &a.contact_name),
        ("phone", &a.phone),
        ("city", &a.city),
        ("street", &a.street),
    ] {
        validate::required_text(v, &format!("{field}.{part}"), value, SHORT_MAX);
    }
}

pub fn decline(r: &DeclineRepairRequest) -> kit::Result<String> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "reason", &r.reason, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(r.reason.clone())
}

/// A parcel: the shapes logistics takes (it registers it).
pub fn parcel(carrier: &str, tracking: &str, request_id: &str) -> kit::Result<(String, String)> {
    let mut v = Violations::new();
    validate::carrier_code(&mut v, "carrier_code", carrier);
    validate::tracking_number(&mut v, "tracking_number", tracking);
    validate::request_id(&mut v, request_id);
    v.finish()?;
    Ok((carrier.to_ascii_lowercase(), tracking.to_string()))
}

/// DiagnoseRepair: the fault and whether the buyer caused it. The request's `warranty`
/// is not taken: the platform's facts decided it at filing.
pub fn diagnose(r: &DiagnoseRepairRequest) -> kit::Result<(String, bool, Vec<String>)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "fault", &r.fault, TEXT_MAX);
    validate::evidence(&mut v, "evidence", &r.evidence);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.fault.clone(), r.buyer_caused, evidence(&r.evidence)))
}

/// QuoteRepair's lines, in `currency` (the order's).
pub fn quote(r: &QuoteRepairRequest, currency: &str) -> kit::Result<(Vec<Part>, Vec<Labour>)> {
    let mut v = Violations::new();
    let in_currency = |m: &Option<aftersales_proto::aftersales::common::v1::Money>| {
        m.as_ref()
            .filter(|m| m.currency == currency)
            .map(|m| m.amount_minor)
    };
    let mut parts = Vec::new();
    for p in &r.parts {
        validate::required_text(&mut v, "parts.part", &p.part, SHORT_MAX);
        match in_currency(&p.unit_cost) {
            Some(c) => parts.push(Part {
                part: p.part.clone(),
                quantity: p.quantity,
                unit_cost_minor: c,
            }),
            None => v.add("parts.unit_cost", format!("a cost in {currency}")),
        }
    }
    let mut labour = Vec::new();
    for l in &r.labour {
        let grade = Grade::from_i32(l.grade);
        if grade.is_none() {
            v.add("labour.grade", "JUNIOR, SENIOR or EXPERT");
        }
        match (grade, in_currency(&l.hourly_rate)) {
            (Some(grade), Some(rate)) => labour.push(Labour {
                grade,
                hourly_rate_minor: rate,
                minutes: l.minutes,
            }),
            (_, None) => v.add("labour.hourly_rate", format!("a rate in {currency}")),
            _ => {}
        }
    }
    if r.parts.len() + r.labour.len() > 100 {
        v.add("parts", "at most 100 lines in all");
    }
    validate::text(&mut v, "note", &r.note, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((parts, labour))
}

/// A text of a step (a reason, a note, a message): `required` or not, bounded.
pub fn step_text(field: &str, text: &str, required: bool, request_id: &str) -> kit::Result<String> {
    let mut v = Violations::new();
    if required {
        validate::required_text(&mut v, field, text, TEXT_MAX);
    } else {
        validate::text(&mut v, field, text, TEXT_MAX);
    }
    validate::request_id(&mut v, request_id);
    v.finish()?;
    Ok(text.to_string())
}

/// ReportRepairProgress: a stage label and the message shown to the buyer.
pub fn progress(r: &ReportRepairProgressRequest) -> kit::Result<(String, String)> {
    let mut v = Violations::new();
    let stage_ok = !r.stage.is_empty()
        && r.stage.len() <= 64
        && r.stage.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !stage_ok {
        v.add("stage", "a lower_snake_case label, e.g. parts_ordered");
    }
    validate::required_text(&mut v, "message", &r.message, TEXT_MAX);
    validate::evidence(&mut v, "evidence", &r.evidence);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.stage.clone(), r.message.clone()))
}

/// ExtendRepair: a reason and the new ETA.
pub fn extend(r: &ExtendRepairRequest) -> kit::Result<(String, DateTime<Utc>)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "reason", &r.reason, TEXT_MAX);
    let due = r.new_due_time.as_ref().and_then(kit::time::from_ts);
    if due.is_none() {
        v.add("new_due_time", "is required");
    }
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.reason.clone(), due.expect("checked")))
}

/// A BookRepairPickup, checked.
pub struct Pickup {
    pub carrier: String,
    /// None: the repair's return address.
    pub address: Option<ProtoAddress>,
}

/// BookRepairPickup: a carrier, a window that ends after it starts and after now.
pub fn pickup(r: &BookRepairPickupRequest) -> kit::Result<Pickup> {
    let mut v = Violations::new();
    validate::carrier_code(&mut v, "carrier_code", &r.carrier_code);
    if let Some(a) = &r.pickup_address {
        postal(&mut v, "pickup_address", a);
    }
    let start = r.window_start_time.as_ref().and_then(kit::time::from_ts);
    let end = r.window_end_time.as_ref().and_then(kit::time::from_ts);
    match (start, end) {
        (None, _) => v.add("window_start_time", "is required"),
        (_, None) => v.add("window_end_time", "is required"),
        (Some(s), Some(e)) if e <= s => v.add("window_end_time", "must be after the start"),
        (_, Some(e)) if e <= Utc::now() => v.add("window_end_time", "must be in the future"),
        _ => {}
    }
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(Pickup {
        carrier: r.carrier_code.to_ascii_lowercase(),
        address: r.pickup_address.clone(),
    })
}
