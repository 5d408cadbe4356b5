//! The contract's requests as domain input. Parsing is validation: each function
//! collects every bad field into one INVALID_ARGUMENT and hands back values the domain
//! can take as they are.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::EvidenceRef,
    complaints::v1::{
        CloseComplaintRequest, ComplaintChannel, CreateComplaintRequest, EscalateComplaintRequest,
        IssueRulingRequest, ListComplaintsRequest, ProposeResolutionRequest,
        RecordExecutionRequest, RecordFollowUpRequest, Remedy as ProtoRemedy,
        RequestMerchantEvidenceRequest, RespondToProposalRequest, SubmitEvidenceRequest,
        TransferComplaintRequest,
    },
};
use kit::{
    Error,
    auth::{Principal, Role},
    error::Violations,
    page::{self, Page},
    validate,
};
use uuid::Uuid;

use crate::{
    domain::{
        kinds::{Execution, Liability, Outcome, Priority, RemedyKind},
        machine::Actor,
        ticket::{Contact, Evidence, Remedy},
    },
    store::Filter,
};

const TEXT_MAX: usize = 4000;
const SHORT_MAX: usize = 200;
/// The remedies one proposal or ruling may order.
const REMEDIES_MAX: usize = 10;

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

/// The caller as the rules see it, in expert `groups`.
pub fn actor(who: &Principal, groups: Vec<String>) -> Actor {
    Actor {
        role: who.role.to_string(),
        id: who.id.clone(),
        groups,
    }
}

/// What a CreateComplaint asks for, once every field is valid.
pub struct NewComplaint {
    pub channel: i32,
    pub priority: Priority,
    pub order_id: String,
    /// The buyer: the caller, or the one an agent files for.
    pub buyer: String,
    pub contact: Contact,
    pub claim_minor: Option<(i64, String)>,
}

/// CreateComplaint.
pub fn create(r: &CreateComplaintRequest, who: &Principal) -> kit::Result<NewComplaint> {
    let mut v = Violations::new();
    let channel = ComplaintChannel::try_from(r.channel).ok();
    match channel {
        None | Some(ComplaintChannel::Unspecified) => {
            v.add("channel", "a known channel is required")
        }
        // disputes arrive as returns' events, never as calls
        Some(ComplaintChannel::System) => v.add("channel", "SYSTEM is the platform's own"),
        _ => {}
    }
    let priority = Priority::from_i32(r.priority);
    if priority.is_none() {
        v.add("priority", "URGENT or NORMAL");
    }
    if r.origin > 1 {
        v.add("origin", "disputes are raised by returns, not filed");
    }
    let order_id = kit::names::strip("orders", &r.order_id).to_string();
    if order_id.is_empty() || order_id.len() > 64 {
        v.add("order_id", "is required (at most 64 bytes)");
    }
    validate::required_text(&mut v, "problem", &r.problem, TEXT_MAX);
    validate::required_text(&mut v, "demand", &r.demand, TEXT_MAX);
    validate::text(&mut v, "category", &r.category, 64);
    validate::text(&mut v, "region", &r.region, 16);
    validate::text(&mut v, "subject_case", &r.subject_case, SHORT_MAX);
    validate::text(&mut v, "order_line_id", &r.order_line_id, 64);
    validate::evidence(&mut v, "evidence", &r.evidence);
    validate::request_id(&mut v, &r.request_id);
    let c = r.contact.clone().unwrap_or_default();
    for (field, value) in [
        ("contact.name", &c.name),
        ("contact.phone", &c.phone),
        ("contact.email", &c.email),
        ("contact.social_account", &c.social_account),
    ] {
        validate::text(&mut v, field, value, SHORT_MAX);
    }
    let claim = r
        .claim_amount
        .as_ref()
        .map(|m| (m.amount_minor, m.currency.clone()));
    if claim.as_ref().is_some_and(|(a, c)| *a < 0 || c.len() != 3) {
        v.add("claim_amount", "not negative, with an ISO-4217 currency");
    }
    let buyer = match who.role {
        Role::Buyer => who.id.clone(),
        _ if r.on_behalf_of_buyer_id.is_empty() => {
            v.add("on_behalf_of_buyer_id", "required when filing for a buyer");
            String::new()
        }
        _ => r.on_behalf_of_buyer_id.clone(),
    };
    v.finish()?;
    Ok(NewComplaint {
        channel: r.channel,
        priority: priority.unwrap_or(Priority::Normal),
        order_id,
        buyer,
        contact: Contact {
            name: c.name,
            phone: c.phone,
            email: c.email,
            social_account: c.social_account,
        },
        claim_minor: claim,
    })
}

pub fn transfer(r: &TransferComplaintRequest) -> kit::Result<(String, String)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "to_agent_id", &r.to_agent_id, 64);
    validate::required_text(&mut v, "reason", &r.reason, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.to_agent_id.clone(), r.reason.clone()))
}

pub fn request_evidence(
    r: &RequestMerchantEvidenceRequest,
) -> kit::Result<(String, Option<Duration>)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "request_text", &r.request_text, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    let deadline = r.deadline.as_ref().and_then(|d| {
        let ok = d.seconds > 0 && d.seconds <= 30 * 86_400 && d.nanos >= 0;
        if !ok {
            v.add("deadline", "between 1 s and 30 days");
        }
        ok.then(|| Duration::new(d.seconds as u64, d.nanos as u32))
    });
    v.finish()?;
    Ok((r.request_text.clone(), deadline))
}

pub fn submit_evidence(r: &SubmitEvidenceRequest) -> kit::Result<(String, Vec<Evidence>)> {
    let mut v = Violations::new();
    validate::text(&mut v, "statement", &r.statement, TEXT_MAX);
    validate::evidence(&mut v, "evidence", &r.evidence);
    if r.statement.trim().is_empty() && r.evidence.is_empty() {
        v.add("evidence", "a statement or at least one item");
    }
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.statement.clone(), evidence(&r.evidence)))
}

fn remedies(v: &mut Violations, items: &[ProtoRemedy]) -> Vec<Remedy> {
    if items.len() > REMEDIES_MAX {
        v.add("remedies", format!("at most {REMEDIES_MAX}"));
    }
    let mut out = Vec::new();
    for (i, r) in items.iter().enumerate() {
        let field = |f: &str| format!("remedies[{i}].{f}");
        let Some(kind) = RemedyKind::from_i32(r.kind) else {
            v.add(field("kind"), "a known remedy kind is required");
            continue;
        };
        let amount = r.amount.as_ref().map_or(0, |m| m.amount_minor);
        if kind.is_money() && amount <= 0 {
            v.add(field("amount"), "a positive amount");
        }
        validate::text(v, &field("note"), &r.note, TEXT_MAX);
        out.push(Remedy {
            id: String::new(),
            kind,
            amount_minor: amount,
            borne_by: Liability::from_i32(r.borne_by),
            note: r.note.clone(),
            execution: Execution::Pending,
            reference: String::new(),
            done: None,
            ordered: None,
        });
    }
    out
}

pub fn propose(r: &ProposeResolutionRequest) -> kit::Result<(String, Vec<Remedy>)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "summary", &r.summary, TEXT_MAX);
    let remedies = remedies(&mut v, &r.remedies);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.summary.clone(), remedies))
}

pub fn respond(r: &RespondToProposalRequest) -> kit::Result<()> {
    let mut v = Violations::new();
    validate::text(&mut v, "comment", &r.comment, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()
}

/// A ruling's parts.
pub struct NewRuling {
    pub basis: String,
    pub liability: Liability,
    pub outcome: Outcome,
    pub remedies: Vec<Remedy>,
    pub summary: String,
    pub pays_first: bool,
}

pub fn rule(r: &IssueRulingRequest) -> kit::Result<NewRuling> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "basis", &r.basis, TEXT_MAX);
    validate::text(&mut v, "summary", &r.summary, TEXT_MAX);
    let liability = Liability::from_i32(r.liability);
    if liability.is_none() {
        v.add("liability", "MERCHANT, CARRIER, PLATFORM or BUYER");
    }
    let outcome = Outcome::from_i32(r.outcome);
    if outcome.is_none() {
        v.add("outcome", "BUYER_UPHELD, MERCHANT_UPHELD or PARTIAL");
    }
    let remedies = remedies(&mut v, &r.remedies);
    let merchants = remedies
        .iter()
        .any(|x| x.kind.is_money() && matches!(x.borne_by, Some(Liability::Merchant) | None));
    if r.platform_pays_first && !merchants {
        v.add(
            "platform_pays_first",
            "no money remedy borne by the merchant to pay first",
        );
    }
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(NewRuling {
        basis: r.basis.clone(),
        liability: liability.expect("checked"),
        outcome: outcome.expect("checked"),
        remedies,
        summary: r.summary.clone(),
        pays_first: r.platform_pays_first,
    })
}

pub fn escalate(r: &EscalateComplaintRequest) -> kit::Result<(String, String)> {
    let mut v = Violations::new();
    validate::text(&mut v, "expert_group", &r.expert_group, 64);
    validate::required_text(&mut v, "reason", &r.reason, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.expert_group.clone(), r.reason.clone()))
}

/// What RecordExecution records: a reship's parcel, or a remedy's new state.
pub enum Recorded {
    Parcel {
        carrier: String,
        tracking: String,
    },
    State {
        execution: Execution,
        reference: String,
    },
}

pub fn record_execution(r: &RecordExecutionRequest) -> kit::Result<(String, Recorded)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "remedy_id", &r.remedy_id, 16);
    validate::text(&mut v, "reference", &r.reference, SHORT_MAX);
    validate::request_id(&mut v, &r.request_id);
    let parcel = !r.carrier_code.is_empty() || !r.tracking_number.is_empty();
    let recorded = if parcel {
        // the shapes logistics takes (it registers the parcel: a refusal there would
        // leave the remedy waiting on a parcel it never tracks)
        validate::carrier_code(&mut v, "carrier_code", &r.carrier_code);
        validate::tracking_number(&mut v, "tracking_number", &r.tracking_number);
        if !matches!(r.state, 0 | 1) {
            v.add("state", "a parcel sent is IN_PROGRESS (or unset)");
        }
        Recorded::Parcel {
            carrier: r.carrier_code.to_ascii_lowercase(),
            tracking: r.tracking_number.clone(),
        }
    } else {
        let execution = match r.state {
            1 => Execution::InProgress,
            2 => Execution::Done,
            3 => Execution::Failed,
            _ => {
                v.add("state", "IN_PROGRESS, DONE or FAILED");
                Execution::Pending
            }
        };
        Recorded::State {
            execution,
            reference: r.reference.clone(),
        }
    };
    v.finish()?;
    Ok((r.remedy_id.clone(), recorded))
}

pub fn follow_up(r: &RecordFollowUpRequest) -> kit::Result<(u32, bool, String)> {
    let mut v = Violations::new();
    if !(1..=5).contains(&r.satisfaction) {
        v.add("satisfaction", "1 to 5");
    }
    validate::text(&mut v, "comment", &r.comment, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.satisfaction, r.resolved, r.comment.clone()))
}

pub fn close(r: &CloseComplaintRequest) -> kit::Result<(String, String)> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "cause", &r.cause, 64);
    validate::text(&mut v, "summary", &r.summary, TEXT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((r.cause.clone(), r.summary.clone()))
}

/// ListComplaints: the filter (the caller's own scope applied) and the page.
pub fn list(r: &ListComplaintsRequest, who: &Principal) -> kit::Result<(Filter, Page<Uuid>)> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut f = Filter {
        order_id: opt(&r.order_id),
        subject_case: opt(&r.subject_case),
        category: opt(&r.category),
        region: opt(&r.region),
        priority: (r.priority != 0).then_some(r.priority as i16),
        channel: (r.channel != 0).then_some(r.channel as i16),
        states: r.states.iter().map(|s| *s as i16).collect(),
        ..Filter::default()
    };
    match r.owner_agent_id.as_str() {
        "" => {}
        "-" => f.unowned = true,
        owner => f.owner_id = Some(owner.into()),
    }
    match who.role {
        Role::Buyer => f.buyer_id = Some(who.id.clone()),
        Role::Merchant => f.merchant_id = Some(who.id.clone()),
        _ => f.merchant_id = opt(&r.merchant_id),
    }
    if r.states.iter().any(|s| !(1..=8).contains(s)) {
        v.add("states", "known states only");
    }
    v.finish()?;
    Ok((f, page))
}

/// The complaint a request names, or INVALID_ARGUMENT.
pub fn id(name: &str) -> kit::Result<Uuid> {
    crate::names::complaint_id("name", name)
}

/// GetComplaint: exactly one of name and ticket number.
pub enum Lookup {
    Id(Uuid),
    Number(String),
}

pub fn lookup(name: &str, number: &str) -> kit::Result<Lookup> {
    match (name.is_empty(), number.is_empty()) {
        (false, true) => Ok(Lookup::Id(id(name)?)),
        (true, false) if crate::domain::number::looks_like(number) => {
            Ok(Lookup::Number(number.into()))
        }
        (true, false) => Err(Error::invalid("ticket_number", "like TS20261203-000042")),
        _ => Err(Error::invalid(
            "name",
            "exactly one of name and ticket_number",
        )),
    }
}
