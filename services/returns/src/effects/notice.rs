//! What a notification says besides its template: the request, its state and order,
//! the clock the recipient is up against, and, to the buyer of an approved request
//! that sends goods back, what SPEC §3 says approval tells: the return address (with
//! the merchant's return contact, which reaches a buyer only with the approval of their
//! case), the carrier options and the refund timeline.

use crate::domain::{
    case::{Address, Case, Party},
    kinds::{Kind, State},
    lateness,
};

/// The platform desk: the agents' queue that escalations go to (SPEC §9).
pub const DESK: &str = "platform-desk";

/// Working days from passed inspection to the refund (SPEC §3) and for it to settle
/// (SPEC §4), as told to the buyer.
const REFUND_WITHIN_WORKING_DAYS: &str = "7";
const SETTLE_WITHIN_WORKING_DAYS: &str = "1-3";

/// The notification's parameters for `to`.
pub fn params(c: &Case, to: Party) -> Vec<(String, String)> {
    let mut p = vec![
        ("case".to_string(), c.name()),
        ("state".to_string(), c.state.as_str().to_string()),
        ("order".to_string(), c.order_id.clone()),
    ];
    let mut put = |k: &str, v: String| p.push((k.to_string(), v));
    if let Some(k) = &c.clock
        && let Some(due) = k.due
    {
        put("clock", k.kind.as_str().into());
        put("due_time", due.to_rfc3339());
    }
    if to == Party::Buyer
        && c.state == State::AwaitingReturnShipment
        && let Some(a) = &c.approval
    {
        match &a.return_address {
            Some(addr) => {
                put("return_address", one_line(addr));
                put("return_contact", contact(addr));
            }
            None => put("return_address", "to follow".into()),
        }
        let carriers = if a.carrier_options.is_empty() {
            "any".to_string()
        } else {
            a.carrier_options.join(",")
        };
        put("carrier_options", carriers);
        put("auto_approved", a.auto_approved.to_string());
    }
    if to == Party::Buyer
        && (c.kind != Kind::Exchange || c.state == State::Refunding)
        && !c.state.is_terminal()
    {
        put(
            "refund_within_working_days",
            REFUND_WITHIN_WORKING_DAYS.into(),
        );
        put(
            "settle_within_working_days",
            SETTLE_WITHIN_WORKING_DAYS.into(),
        );
    }
    if to != Party::Buyer && c.overdue_since.is_some() {
        let (days, penalty) = lateness::accrued(c, c.updated);
        put("late_days", days.to_string());
        put("penalty_accrued_minor", penalty.to_string());
        put(
            "penalty_per_day_minor",
            lateness::penalty(c.line_amount_minor, 1).to_string(),
        );
    }
    for (leg, parcel) in [
        ("return", &c.return_parcel),
        ("replacement", &c.replacement_parcel),
    ] {
        if let Some(problem) = parcel.as_ref().and_then(|x| x.problem.as_ref()) {
            put("parcel", leg.into());
            put("parcel_outcome", problem.outcome.as_str().into());
            put("parcel_detail", problem.detail.clone());
        }
    }
    if to == Party::Platform
        && let Some(problem) = c.refund_problems.last()
    {
        put("refund", problem.refund.clone());
        put("refund_problem", problem.kind.as_str().into());
        put("refund_problem_reason", problem.reason.clone());
    }
    p
}

fn one_line(a: &Address) -> String {
    [
        a.province.as_str(),
        a.city.as_str(),
        a.district.as_str(),
        a.street.as_str(),
        a.postal_code.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ")
}

fn contact(a: &Address) -> String {
    [a.contact_name.as_str(), a.phone.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}
