//! The contract's requests as domain input. Parsing is validation: each function
//! collects every bad field into one INVALID_ARGUMENT (`kit::error::Violations`) and
//! hands back commands and values the domain can take as they are.

use aftersales_proto::aftersales::{
    common::v1::{Address as ProtoAddress, EvidenceRef, Money},
    platform::v1::{Order, OrderLine},
    returns::v1::{
        AppealReturnRequest, ApproveReturnRequest, CancelReturnRequest, CreateReturnRequest,
        InspectReturnRequest, InspectionResult, ListReturnAuditRequest, ListReturnsRequest,
        MerchantPolicy, RejectReturnRequest, ReturnState, ReviewPromise, ReviseReturnRequest,
        ShipReplacementRequest, SubmitReturnShipmentRequest, UpsertMerchantPolicyRequest,
    },
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

use crate::{
    domain::{
        case::{Address, Evidence},
        eligibility::Facts,
        kinds::{Family, Kind, Reason},
        machine::Command,
        platform_policy::{PackagingDamage, PlatformPolicy},
        policy::{Payer, Policy},
        shipping::Outlay,
    },
    names,
    store::{After, Filter},
};

mod platform;
pub use platform::platform_policy;

/// A parcel's carrier and tracking number.
fn parcel(v: &mut Violations, carrier: &str, tracking: &str) {
    validate::carrier_code(v, "carrier_code", carrier);
    validate::tracking_number(v, "tracking_number", tracking);
}

/// The facts eligibility is decided on, from the order (never from the caller).
pub fn facts(order: &Order, line: &OrderLine, claimed: u32, now: DateTime<Utc>) -> Facts {
    let t = |t: &Option<prost_types::Timestamp>| t.as_ref().and_then(from_ts);
    let records = kit::platform::purchase_records(order);
    Facts {
        now,
        signed_for: t(&order.signed_for_time),
        shipped: t(&order.shipped_time),
        promised_ship: t(&order.promised_ship_time),
        promised_delivery: t(&order.promised_delivery_time),
        cancelled: order.cancelled,
        category: line.category.clone(),
        special_goods: !line.special_goods.is_empty(),
        line_quantity: line.quantity,
        claimed,
        paid_minor: line.paid_amount.as_ref().map_or(0, |m| m.amount_minor),
        currency: line
            .paid_amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_default(),
        payment_recorded: records.payment,
        logistics_recorded: records.logistics,
    }
}

/// What a CreateReturn asks for, once every field is valid.
pub struct NewReturn {
    pub kind: Kind,
    pub reason: Reason,
    /// The order's id, without `orders/`.
    pub order_id: String,
    /// The buyer: the caller, or the one an agent files for.
    pub buyer: String,
}

/// CreateReturn.
pub fn create(r: &CreateReturnRequest, who: &Principal) -> kit::Result<NewReturn> {
    let mut v = Violations::new();
    let kind = Kind::from_i32(r.kind);
    if kind.is_none() {
        v.add("kind", "must be RETURN_REFUND, EXCHANGE or REFUND_ONLY");
    }
    let reason = Reason::from_i32(r.reason);
    if reason.is_none() {
        v.add("reason", "is required");
    }
    let order_id = names::order_id(&r.order_id).to_string();
    if order_id.is_empty() || order_id.len() > 100 {
        v.add("order_id", "is required");
    }
    if r.order_line_id.is_empty() || r.order_line_id.len() > 100 {
        v.add("order_line_id", "is required");
    }
    if r.quantity == 0 {
        v.add("quantity", "at least 1");
    }
    if reason.is_some_and(|x| x.family() != Family::NoReason) && r.description.trim().is_empty() {
        v.add(
            "description",
            "is required for quality and refund-only reasons",
        );
    }
    validate::text(&mut v, "description", &r.description, 2000);
    validate::evidence(&mut v, "evidence", &r.evidence);
    if !r.exchange_sku.is_empty() && kind != Some(Kind::Exchange) {
        v.add("exchange_sku", "only for EXCHANGE");
    }
    let buyer = match who.role {
        Role::Buyer => who.id.clone(),
        _ => {
            if r.on_behalf_of_buyer_id.is_empty() {
                v.add("on_behalf_of_buyer_id", "an agent files for a named buyer");
            }
            r.on_behalf_of_buyer_id.clone()
        }
    };
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(NewReturn {
        kind: kind.expect("validated"),
        reason: reason.expect("validated"),
        order_id,
        buyer,
    })
}

/// ReviseReturn: the fields it may change (unset ones keep the request's values).
pub fn revise(r: &ReviseReturnRequest) -> kit::Result<(Option<Kind>, Option<Reason>)> {
    let mut v = Violations::new();
    if r.kind != 0 && Kind::from_i32(r.kind).is_none() {
        v.add("kind", "unknown kind");
    }
    if r.reason != 0 && Reason::from_i32(r.reason).is_none() {
        v.add("reason", "unknown reason");
    }
    validate::text(&mut v, "description", &r.description, 2000);
    validate::evidence(&mut v, "evidence", &r.evidence);
    v.finish()?;
    Ok((Kind::from_i32(r.kind), Reason::from_i32(r.reason)))
}

/// At most 10 carrier codes, none empty or too long.
fn carriers_ok(codes: &[String]) -> bool {
    codes.len() <= 10
        && codes
            .iter()
            .all(|c| !c.is_empty() && c.len() <= validate::CARRIER_CODE_MAX)
}

/// ApproveReturn.
pub fn approve(r: &ApproveReturnRequest) -> kit::Result<Command> {
    let mut v = Violations::new();
    if !carriers_ok(&r.carrier_options) {
        v.add("carrier_options", "at most 10 carrier codes");
    }
    validate::text(&mut v, "note", &r.note, 1000);
    v.finish()?;
    Ok(Command::Approve {
        address: r.return_address.as_ref().map(address),
        carriers: r
            .carrier_options
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect(),
        note: r.note.clone(),
        auto: false,
    })
}

/// RejectReturn.
pub fn reject(r: &RejectReturnRequest) -> kit::Result<Command> {
    let mut v = Violations::new();
    validate::text(&mut v, "reason", &r.reason, 1000);
    validate::evidence(&mut v, "evidence", &r.evidence);
    v.finish()?;
    Ok(Command::Reject {
        reason: r.reason.clone(),
        evidence: evidence(&r.evidence),
    })
}

/// CancelReturn.
pub fn cancel(r: &CancelReturnRequest) -> kit::Result<Command> {
    let mut v = Violations::new();
    validate::text(&mut v, "reason", &r.reason, 1000);
    v.finish()?;
    Ok(Command::Cancel {
        reason: r.reason.clone(),
    })
}

/// AppealReturn.
pub fn appeal(r: &AppealReturnRequest) -> kit::Result<Command> {
    let mut v = Violations::new();
    validate::text(&mut v, "statement", &r.statement, 4000);
    validate::evidence(&mut v, "evidence", &r.evidence);
    v.finish()?;
    Ok(Command::Appeal {
        statement: r.statement.clone(),
        evidence: evidence(&r.evidence),
    })
}

/// SubmitReturnShipment: the command, and the cost the buyer declared (its currency is
/// checked against the request's once the request is read). The packaging fee for the
/// stated damage comes from the platform policy in force.
pub fn submit_shipment(
    r: &SubmitReturnShipmentRequest,
    platform: &PlatformPolicy,
) -> kit::Result<(Command, Option<Money>)> {
    let mut v = Violations::new();
    parcel(&mut v, &r.carrier_code, &r.tracking_number);
    if let Some(m) = &r.shipping_cost
        && (m.amount_minor < 0 || m.currency.len() != 3)
    {
        v.add("shipping_cost", "not negative, with an ISO-4217 currency");
    }
    let promised = promised_delivery(&mut v, r.promised_delivery_time.as_ref());
    if let Some(e) = &r.shipping_receipt {
        validate::evidence(&mut v, "shipping_receipt", std::slice::from_ref(e));
    }
    let damage = damage(&mut v, r.packaging_damage);
    v.finish()?;
    let cost = r.shipping_cost.clone();
    let cmd = Command::SubmitShipment {
        carrier: r.carrier_code.to_ascii_lowercase(),
        tracking: r.tracking_number.clone(),
        outlay: Outlay {
            cost_minor: cost.as_ref().map(|m| m.amount_minor),
            receipt: r
                .shipping_receipt
                .as_ref()
                .and_then(|e| evidence(std::slice::from_ref(e)).pop()),
            damage,
            packaging_fee_minor: platform.packaging_fee(damage),
        },
        promised,
    };
    Ok((cmd, cost))
}

/// The declared shipping cost in the currency the order was paid in.
pub fn cost_currency(cost: Option<&Money>, currency: &str) -> kit::Result<()> {
    match cost {
        Some(m) if m.currency != currency => Err(Error::invalid(
            "shipping_cost.currency",
            format!("the order was paid in {currency}"),
        )),
        _ => Ok(()),
    }
}

/// InspectReturn.
pub fn inspect(r: &InspectReturnRequest, platform: &PlatformPolicy) -> kit::Result<Command> {
    let mut v = Violations::new();
    let packaging =
        damage(&mut v, r.packaging_damage).map(|d| (d, platform.packaging_fee(Some(d))));
    let passed = match InspectionResult::try_from(r.result) {
        Ok(InspectionResult::Passed) => true,
        Ok(InspectionResult::Failed) => false,
        _ => {
            v.add("result", "PASSED or FAILED");
            false
        }
    };
    validate::text(&mut v, "note", &r.note, 2000);
    validate::evidence(&mut v, "evidence", &r.evidence);
    v.finish()?;
    Ok(Command::Inspect {
        passed,
        note: r.note.clone(),
        evidence: evidence(&r.evidence),
        auto: false,
        packaging,
    })
}

/// A stated packaging damage (unset: none stated).
fn damage(v: &mut Violations, value: i32) -> Option<PackagingDamage> {
    if value == 0 {
        return None;
    }
    let known = PackagingDamage::from_i32(value);
    if known.is_none() {
        v.add("packaging_damage", "unknown value");
    }
    known
}

/// ShipReplacement.
pub fn ship_replacement(r: &ShipReplacementRequest) -> kit::Result<Command> {
    let mut v = Violations::new();
    parcel(&mut v, &r.carrier_code, &r.tracking_number);
    let promised = promised_delivery(&mut v, r.promised_delivery_time.as_ref());
    v.finish()?;
    Ok(Command::ShipReplacement {
        carrier: r.carrier_code.to_ascii_lowercase(),
        tracking: r.tracking_number.clone(),
        promised,
    })
}

/// A carrier's promised delivery time, if given: a valid instant.
fn promised_delivery(
    v: &mut Violations,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let t = t?;
    let at = from_ts(t);
    if at.is_none() {
        v.add("promised_delivery_time", "is not a valid time");
    }
    at
}

/// A ListReturns query: what to list, in which order, from where.
pub struct Listing {
    pub filter: Filter,
    /// The merchant's work queue (soonest deadline first) rather than newest first.
    pub by_due: bool,
    pub page: Page<After>,
}

/// ListReturns; buyers see their own requests, merchants their shop's, whatever they
/// filter on.
pub fn list(r: &ListReturnsRequest, who: &Principal) -> kit::Result<Listing> {
    let mut v = Violations::new();
    let by_due = match r.order_by.as_str() {
        "" | "create_time desc" => false,
        "clock.due_time" => true,
        _ => {
            v.add("order_by", "\"create_time desc\" or \"clock.due_time\"");
            false
        }
    };
    if r.states
        .iter()
        .any(|s| *s <= 0 || ReturnState::try_from(*s).is_err())
    {
        v.add("states", "unknown state");
    }
    let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
        if by_due {
            page::parse_time_id(t).map(|(due, id)| After::Due(due, id))
        } else {
            page::parse_id(t).map(After::Id)
        }
    });
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut filter = Filter {
        buyer_id: some(&r.buyer_id),
        merchant_id: some(&r.merchant_id),
        order_id: (!r.order_id.is_empty()).then(|| names::order_id(&r.order_id).to_string()),
        states: r.states.iter().map(|s| *s as i16).collect(),
    };
    match who.role {
        Role::Buyer => filter.buyer_id = Some(who.id.clone()),
        Role::Merchant => {
            if filter.merchant_id.as_ref().is_some_and(|m| *m != who.id) {
                v.add("merchant_id", "a merchant lists only its own requests");
            }
            filter.merchant_id = Some(who.id.clone());
        }
        _ => {}
    }
    v.finish()?;
    Ok(Listing {
        filter,
        by_due,
        page,
    })
}

/// ListReturnAudit's page (the parent is looked up first: an unknown one is NOT_FOUND).
pub fn audit_page(r: &ListReturnAuditRequest) -> kit::Result<Page<i64>> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| t.parse().ok());
    v.finish()?;
    Ok(page)
}

/// UpsertMerchantPolicy: the merchant and its policy. A merchant publishes only its own.
pub fn upsert_policy(
    r: &UpsertMerchantPolicyRequest,
    who: &Principal,
) -> kit::Result<(String, Policy)> {
    let mut v = Violations::new();
    let p = r.policy.clone().unwrap_or_default();
    let merchant = names::policy_merchant(&p.name).unwrap_or("").to_string();
    if merchant.is_empty() {
        v.add(
            "policy.name",
            "must look like merchants/{merchant_id}/policy",
        );
    } else if who.role == Role::Merchant && who.id != merchant {
        return Err(Error::PermissionDenied(
            "a merchant publishes only its own policy".into(),
        ));
    }
    validate::request_id(&mut v, &r.request_id);
    if !carriers_ok(&p.carrier_options) {
        v.add("policy.carrier_options", "at most 10 carrier codes");
    }
    let policy = policy(&p);
    for (field, why) in policy.violations() {
        v.add(format!("policy.{field}"), why);
    }
    v.finish()?;
    Ok((merchant, policy))
}

/// The merchant of a GetMerchantPolicy `name`.
pub fn policy_merchant(name: &str) -> kit::Result<&str> {
    names::policy_merchant(name)
        .ok_or_else(|| Error::invalid("name", "must look like merchants/{merchant_id}/policy"))
}

/// Evidence by reference, as the caller sent it.
pub fn evidence(e: &[EvidenceRef]) -> Vec<Evidence> {
    e.iter()
        .map(|e| Evidence {
            uri: e.uri.clone(),
            kind: e.kind,
            description: e.description.clone(),
            sha256: e.sha256.clone(),
        })
        .collect()
}

/// A postal address.
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

/// A published policy with the platform defaults filled in for zero values.
pub fn policy(p: &MerchantPolicy) -> Policy {
    let d = Policy::default();
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    Policy {
        no_reason_window_days: or(p.no_reason_window_days, d.no_reason_window_days),
        no_reason_window_days_by_category: p
            .no_reason_window_days_by_category
            .clone()
            .into_iter()
            .collect(),
        review_hours: if p.review_promise == ReviewPromise::Within24h as i32 {
            24
        } else {
            48
        },
        no_reason_shipping_payer: Payer::from_i32(p.no_reason_shipping_payer)
            .unwrap_or(Payer::Buyer),
        special_goods_categories: p.special_goods_categories.clone(),
        exchange_allowed: p.exchange_allowed,
        reject_appeal_window_days: or(p.reject_appeal_window_days, d.reject_appeal_window_days),
        reasonable_use_days: or(p.reasonable_use_days, d.reasonable_use_days),
        reasonable_use_days_by_category: p
            .reasonable_use_days_by_category
            .clone()
            .into_iter()
            .collect(),
        repair_warranty_months: p.repair_warranty_months,
        spare_unit_offered: p.spare_unit_offered,
        return_address: p.return_address.as_ref().map(address),
        carrier_options: p
            .carrier_options
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect(),
        repair_inspection_fee_minor: p
            .repair_inspection_fee
            .as_ref()
            .map_or(0, |m| m.amount_minor),
        repair_inspection_fee_currency: p
            .repair_inspection_fee
            .as_ref()
            .filter(|m| m.amount_minor != 0)
            .map(|m| m.currency.clone())
            .unwrap_or_default(),
    }
}
