//! The contract's requests parsed into what the handlers act on, collecting every bad
//! field into one INVALID_ARGUMENT (parse, don't validate: a `Money` that exists is valid).

use aftersales_proto::aftersales::{
    common::v1::Money as ProtoMoney,
    refunds::v1::{
        ComputeLatePenaltyRequest, CreateRefundRequest, ListRefundsRequest,
        RecordPlatformAdvanceRequest, RecordRecoveryRequest, RefundState, RetryRefundRequest,
    },
};
use kit::{
    auth::{Principal, Role},
    error::Violations,
    names, page,
    page::Page,
    time::from_ts,
    validate,
};
use rules::Money;
use uuid::Uuid;

use crate::{
    domain::refund::{Funding, Kind, RecoverFrom},
    store::Filter,
};

fn money(v: &mut Violations, field: &str, m: Option<&ProtoMoney>) -> Option<Money> {
    match m {
        None => {
            v.add(field, "is required");
            None
        }
        Some(m) => match Money::positive(m.amount_minor, &m.currency) {
            Ok(m) => Some(m),
            Err(e) => {
                v.add(field, e);
                None
            }
        },
    }
}

/// The refund a request names, in field `name`.
fn refund_name(v: &mut Violations, name: &str) {
    if crate::names::id(name).is_none() {
        v.add("name", "must look like refunds/{uuid}");
    }
}

/// A parsed CreateRefundRequest.
pub struct Create {
    pub kind: Kind,
    pub funded_by: Funding,
    pub order_id: String,
    pub amount: Money,
}

/// CreateRefundRequest: kind, the causing case, the order (and its line for the kinds
/// that draw on a line), a positive amount, a reason, who funds it.
pub fn create(r: &CreateRefundRequest) -> kit::Result<Create> {
    let mut v = Violations::new();
    let kind = Kind::from_i32(r.kind);
    if kind.is_none() {
        v.add(
            "kind",
            "must be one of GOODS, SHIPPING_FEE, LATE_PENALTY, SHIPPING_INSURANCE, GOODWILL",
        );
    }
    validate::case_name(&mut v, "source_case", &r.source_case);
    let order_id = names::strip("orders", &r.order_id).to_string();
    validate::required_text(&mut v, "order_id", &order_id, 100);
    if kind.is_some_and(Kind::needs_line) && r.order_line_id.is_empty() {
        v.add(
            "order_line_id",
            "is required for GOODS and SHIPPING_FEE refunds",
        );
    }
    validate::text(&mut v, "order_line_id", &r.order_line_id, 100);
    let amount = money(&mut v, "amount", r.amount.as_ref());
    validate::required_text(&mut v, "reason", &r.reason, 500);
    let funded_by = match r.funded_by {
        0 => kind.map(Kind::default_funding),
        f => {
            let f = Funding::from_i32(f);
            if f.is_none() {
                v.add("funded_by", "unknown funding party");
            }
            f
        }
    };
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(Create {
        kind: kind.expect("validated"),
        funded_by: funded_by.expect("validated"),
        order_id,
        amount: amount.expect("validated"),
    })
}

/// ListRefundsRequest as the caller may see it: a buyer sees only his own refunds and a
/// merchant only its shop's, whatever the filter asks (SPEC §9); staff must narrow the
/// list to something.
pub fn list(who: &Principal, r: &ListRefundsRequest) -> kit::Result<(Filter, Page<Uuid>)> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
    let time = |v: &mut Violations, f: &str, t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(|t| {
            let parsed = from_ts(t);
            if parsed.is_none() {
                v.add(f, "out of range");
            }
            parsed
        })
    };
    let start = time(&mut v, "start_time", &r.start_time);
    let end = time(&mut v, "end_time", &r.end_time);
    if r.kinds.iter().any(|k| Kind::from_i32(*k).is_none()) {
        v.add("kinds", "unknown kind");
    }
    if r.states
        .iter()
        .any(|s| *s <= 0 || RefundState::try_from(*s).is_err())
    {
        v.add("states", "unknown state");
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut f = Filter {
        order_id: opt(names::strip("orders", &r.order_id)),
        source_case: opt(&r.source_case),
        merchant_id: opt(&r.merchant_id),
        buyer_id: None,
        start,
        end,
        kinds: r.kinds.iter().map(|k| *k as i16).collect(),
        states: r.states.iter().map(|s| *s as i16).collect(),
    };
    match who.role {
        Role::Buyer => f.buyer_id = Some(who.id.clone()),
        Role::Merchant => {
            if f.merchant_id.as_ref().is_some_and(|m| *m != who.id) {
                v.add("merchant_id", "a merchant lists only its own refunds");
            }
            f.merchant_id = Some(who.id.clone());
        }
        _ => {
            if f.order_id.is_none() && f.source_case.is_none() && f.merchant_id.is_none() {
                v.add(
                    "order_id",
                    "one of order_id, source_case or merchant_id is required",
                );
            }
        }
    }
    v.finish()?;
    Ok((f, page))
}

/// RetryRefundRequest: the refund and a request id.
pub fn retry(r: &RetryRefundRequest) -> kit::Result<()> {
    let mut v = Violations::new();
    refund_name(&mut v, &r.name);
    validate::request_id(&mut v, &r.request_id);
    v.finish()
}

/// RecordPlatformAdvanceRequest: whom the advance is recovered from (a carrier by its
/// code), why, and a request id.
pub fn advance(r: &RecordPlatformAdvanceRequest) -> kit::Result<RecoverFrom> {
    let mut v = Violations::new();
    refund_name(&mut v, &r.name);
    let from = RecoverFrom::from_i32(r.recover_from);
    if from.is_none() {
        v.add("recover_from", "must be MERCHANT_DEPOSIT or CARRIER");
    }
    if from == Some(RecoverFrom::Carrier) && r.debtor_id.is_empty() {
        v.add("debtor_id", "the carrier code is required");
    }
    validate::required_text(&mut v, "reason", &r.reason, 500);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(from.expect("validated"))
}

/// RecordRecoveryRequest: a positive amount, the payment's reference, a request id.
pub fn recovery(r: &RecordRecoveryRequest) -> kit::Result<Money> {
    let mut v = Violations::new();
    refund_name(&mut v, &r.name);
    let amount = money(&mut v, "amount", r.amount.as_ref());
    validate::required_text(&mut v, "reference", &r.reference, 200);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(amount.expect("validated"))
}

/// ComputeLatePenaltyRequest: a non-negative line amount in an ISO-4217 currency;
/// answers (amount, currency).
pub fn late_penalty(r: &ComputeLatePenaltyRequest) -> kit::Result<(i64, String)> {
    let mut v = Violations::new();
    let currency = match &r.line_amount {
        None => {
            v.add("line_amount", "is required");
            String::new()
        }
        Some(m) => {
            if m.amount_minor < 0 {
                v.add("line_amount.amount_minor", "must not be negative");
            }
            if rules::Currency::parse(&m.currency).is_none() {
                v.add("line_amount.currency", "must be an ISO-4217 code");
            }
            m.currency.clone()
        }
    };
    v.finish()?;
    let line = r.line_amount.as_ref().map_or(0, |m| m.amount_minor);
    Ok((line, currency))
}
