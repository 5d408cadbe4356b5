//! Whether an order line may have a return, an exchange or a refund-only request, decided
//! from OrderDirectory facts and the merchant's policy, never from the caller's word.
//!
//! Windows are counted as the 2017 interim measures on 7-day no-reason returns (art. 7)
//! and the Civil Code (art. 201) say: from the day after sign-for, ending at 24:00 of the
//! last day, in mainland China time. A parcel signed for at 10:00 on 2 March can be
//! returned without reason until 23:59:59 on 9 March.

use chrono::{DateTime, Days, FixedOffset, NaiveTime, Utc};

use super::{
    kinds::{Family, Kind, Reason},
    platform_policy::{self, Condition, PlatformPolicy},
    policy::Policy,
};

/// Delivery later than promised by this much makes a refund-only case (seed 002).
pub const LATE_DELIVERY: chrono::Duration = chrono::Duration::hours(72);

/// What the order directory says about the order and the line.
#[derive(Clone, Debug)]
pub struct Facts {
    pub now: DateTime<Utc>,
    pub signed_for: Option<DateTime<Utc>>,
    pub shipped: Option<DateTime<Utc>>,
    pub promised_ship: Option<DateTime<Utc>>,
    pub promised_delivery: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub category: String,
    /// Any special-goods flag on the line (the conditional ones are only set when the
    /// buyer confirmed them at purchase).
    pub special_goods: bool,
    pub line_quantity: u32,
    /// Units already in open or completed requests.
    pub claimed: u32,
    /// What the buyer paid for the whole line, and in which currency.
    pub paid_minor: i64,
    pub currency: String,
    /// The order has a payment reference and a payment time.
    pub payment_recorded: bool,
    /// The order has the original delivery's carrier, tracking number and ship time.
    pub logistics_recorded: bool,
}

/// What the buyer asks.
#[derive(Clone, Copy, Debug)]
pub struct Ask {
    pub kind: Kind,
    pub reason: Reason,
    pub quantity: u32,
    pub has_evidence: bool,
}

/// Admitted: the rule that admitted it and the end of the window it relied on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    pub rule: String,
    pub window_end: Option<DateTime<Utc>>,
}

/// Refused: the rule (stable, UPPER_SNAKE) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub rule: &'static str,
    pub why: String,
}

fn refuse(rule: &'static str, why: impl Into<String>) -> Refused {
    Refused {
        rule,
        why: why.into(),
    }
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// 24:00 (UTC+8) of the `days`-th day after the day of `start`.
pub fn window_end(start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let day = start.with_timezone(&china()).date_naive();
    let end = day
        .checked_add_days(Days::new(days as u64 + 1))
        .expect("date in range")
        .and_time(NaiveTime::MIN)
        .and_local_timezone(china())
        .single()
        .expect("fixed offset");
    end.with_timezone(&Utc)
}

/// Decides eligibility: the merchant's policy for windows and exchanges, the
/// platform's for the refund-only cases.
pub fn decide(
    ask: Ask,
    facts: &Facts,
    policy: &Policy,
    platform: &PlatformPolicy,
) -> Result<Admitted, Refused> {
    let returnable = facts.line_quantity.saturating_sub(facts.claimed);
    if ask.quantity == 0 || ask.quantity > returnable {
        return Err(refuse(
            "QUANTITY_EXCEEDS_RETURNABLE",
            format!(
                "{returnable} of {} units can still be requested",
                facts.line_quantity
            ),
        ));
    }
    if ask.kind == Kind::Exchange && !policy.exchange_allowed {
        return Err(refuse(
            "EXCHANGE_NOT_OFFERED",
            "this merchant does not offer exchanges",
        ));
    }
    let family = ask.reason.family();
    match (ask.kind, family) {
        (Kind::RefundOnly, Family::RefundOnly) => refund_only(ask, facts, policy, platform),
        (Kind::RefundOnly, _) => Err(refuse(
            "REFUND_ONLY_REASON_REQUIRED",
            "refund-only needs one of the platform's refund-only reasons",
        )),
        (_, Family::RefundOnly) => Err(refuse(
            "REASON_NEEDS_REFUND_ONLY",
            format!("{} is a refund-only reason", ask.reason.as_str()),
        )),
        (_, Family::NoReason) => no_reason(facts, policy),
        (_, Family::Quality) => quality(ask.reason, facts, policy),
    }
}

fn signed(facts: &Facts) -> Result<DateTime<Utc>, Refused> {
    facts
        .signed_for
        .ok_or_else(|| refuse("NOT_SIGNED_FOR", "the order has not been signed for yet"))
}

fn no_reason(facts: &Facts, policy: &Policy) -> Result<Admitted, Refused> {
    let signed = signed(facts)?;
    if facts.special_goods || policy.is_special_category(&facts.category) {
        return Err(refuse(
            "SPECIAL_GOODS",
            "special goods are excluded from no-reason returns",
        ));
    }
    let days = policy.no_reason_days(&facts.category);
    let end = window_end(signed, days);
    if facts.now >= end {
        return Err(refuse(
            "NO_REASON_WINDOW_CLOSED",
            format!("the {days}-day no-reason window ended at {end}"),
        ));
    }
    Ok(Admitted {
        rule: "no_reason_window".into(),
        window_end: Some(end),
    })
}

fn within_reasonable_use(facts: &Facts, policy: &Policy) -> Result<DateTime<Utc>, Refused> {
    let signed = signed(facts)?;
    let days = policy.reasonable_use_days(&facts.category);
    let end = window_end(signed, days);
    if facts.now >= end {
        return Err(refuse(
            "REASONABLE_USE_PERIOD_OVER",
            format!("the {days}-day reasonable-use period ended at {end}"),
        ));
    }
    Ok(end)
}

fn quality(reason: Reason, facts: &Facts, policy: &Policy) -> Result<Admitted, Refused> {
    let end = within_reasonable_use(facts, policy)?;
    Ok(Admitted {
        rule: format!("quality_reasonable_use:{}", reason.as_str()),
        window_end: Some(end),
    })
}

/// A refund-only case of the platform's list, its condition checked against the facts.
fn refund_only(
    ask: Ask,
    facts: &Facts,
    policy: &Policy,
    platform: &PlatformPolicy,
) -> Result<Admitted, Refused> {
    let not_met = |why: &str| Err(refuse("REFUND_ONLY_FACTS_NOT_MET", why.to_string()));
    let Some(case) = platform.refund_only_case(ask.reason) else {
        return Err(refuse(
            "REFUND_ONLY_REASON_NOT_LISTED",
            format!(
                "{} is not among the platform's refund-only cases",
                ask.reason.as_str()
            ),
        ));
    };
    let end = match case.condition {
        Condition::ShippedNotSignedFor => {
            if facts.shipped.is_none() || facts.signed_for.is_some() {
                return not_met("only a shipped parcel that was never signed for is not received");
            }
            None
        }
        Condition::Delivered72hLate => {
            let Some(promised) = facts.promised_delivery else {
                return not_met("the order had no promised delivery time");
            };
            if facts.signed_for.unwrap_or(facts.now) <= promised + LATE_DELIVERY {
                return not_met("delivery was not more than 72 h past the promised time");
            }
            None
        }
        Condition::NotShippedByPromise => {
            let Some(promised) = facts.promised_ship else {
                return not_met("the order had no promised shipping time");
            };
            if facts.shipped.unwrap_or(facts.now) <= promised {
                return not_met("the seller shipped by the promised time");
            }
            None
        }
        Condition::CancelledBeforeShipment => {
            if !facts.cancelled || facts.shipped.is_some() {
                return not_met("the order was not cancelled before shipment");
            }
            None
        }
        // Problems seen on receipt: within the reasonable-use period, with evidence.
        Condition::EvidenceWithinReasonableUse | Condition::EvidenceAndLowValue { .. } => {
            if !ask.has_evidence {
                return Err(refuse(
                    "EVIDENCE_REQUIRED",
                    "photos or records are required for this reason",
                ));
            }
            let end = within_reasonable_use(facts, policy)?;
            if let Condition::EvidenceAndLowValue { max_line_minor } = case.condition {
                // worth less than sending it back: the whole line, so a dear line cannot
                // pass as cheap units filed one request at a time
                let value = facts.paid_minor;
                if facts.currency != platform_policy::CURRENCY || value > max_line_minor {
                    return not_met(&format!(
                        "the line is worth {value} {}, above the low-value bound of \
                         {max_line_minor} {}",
                        facts.currency,
                        platform_policy::CURRENCY
                    ));
                }
            }
            Some(end)
        }
    };
    Ok(Admitted {
        rule: format!("refund_only:{}", ask.reason.as_str()),
        window_end: end,
    })
}

#[cfg(test)]
pub(crate) mod tests;
