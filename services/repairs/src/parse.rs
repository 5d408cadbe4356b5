//! Requests checked into the values the rules take: every bad field named at once
//! (INVALID_ARGUMENT with field violations), nothing written before it passes.

use aftersales_proto::aftersales::{
    common::v1::{Address as ProtoAddress, EvidenceRef},
    repairs::v1::{
        AcceptRepairRequest, AcknowledgeRepairRequest, CreateRepairRequest, DeclineRepairRequest,
        GetRepairRequest, ListRepairsRequest,
    },
};
use kit::{
    auth::{Principal, Role},
    error::Violations,
    page::{self, Page},
    validate,
};
use uuid::Uuid;

use crate::{domain::repair::Address, names, store::Filter};

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
    for (field, value) in [
        ("repair_address.contact_name", &a.contact_name),
        ("repair_address.phone", &a.phone),
        ("repair_address.city", &a.city),
        ("repair_address.street", &a.street),
    ] {
        validate::required_text(&mut v, field, value, SHORT_MAX);
    }
    v.finish()?;
    Ok(address(&a))
}

pub fn decline(r: &DeclineRepairRequest) -> kit::Result<String> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "reason", &r.reason, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(r.reason.clone())
}
