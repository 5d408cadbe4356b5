//! Resource names and keys every door uses: `returns/{uuid}` (through `kit::names`), a
//! request's SLA timer ids and clock keys, `merchants/{id}/policy`, `orders/{id}` and
//! `platform/returnsPolicy`.

use kit::sla;
use uuid::Uuid;

use crate::domain::case::Case;

/// The platform's returns policy (one resource).
pub const PLATFORM_POLICY: &str = "platform/returnsPolicy";

/// The collection of return requests.
pub const RETURNS: &str = "returns";

/// The id of `name` (`returns/{uuid}`), or INVALID_ARGUMENT on `field`.
pub fn return_id(field: &str, name: &str) -> kit::Result<Uuid> {
    kit::names::parse(field, RETURNS, name)
}

/// The outbox key of a request's clock number `seq` (its schedule command).
pub fn clock_key(case: &Case, seq: u32) -> String {
    format!("{}:clock:{seq}", case.name())
}

/// The SLA timer id of a request's clock number `seq`: a UUIDv5 of its key, known
/// before the SLA service answers, so a cancel needs no stored reply and a stale expiry
/// is recognised.
pub fn timer_id(case: &Case, seq: u32) -> String {
    sla::timer_id(&clock_key(case, seq))
}

/// The merchant of `merchants/{merchant_id}/policy`, if `name` is one.
pub fn policy_merchant(name: &str) -> Option<&str> {
    name.strip_prefix("merchants/")
        .and_then(|s| s.strip_suffix("/policy"))
        .filter(|m| !m.is_empty())
}

/// `merchants/{merchant}/policy`.
pub fn policy_name(merchant: &str) -> String {
    format!("merchants/{merchant}/policy")
}

/// An order id given as `orders/{id}` or bare.
pub fn order_id(raw: &str) -> &str {
    kit::names::strip("orders", raw)
}
