//! Whether an order line may have a return, an exchange or a refund-only request, decided
//! from OrderDirectory facts and the merchant's policy, never from the caller's word.
//!
//! Windows are counted as the 2017 interim measures on 7-day no-reason returns (art. 7)
//! and the Civil Code (art. 201) say: from the day after sign-for, ending at 24:00 of the
//! last day, in mainland China time. A parcel signed for at 10:00 on 2 March can be
//! returned without reason until 23:59:59 on 9 March.

use chrono::{DateTime, Days, FixedOffset, NaiveTime, Utc};

use super::{
    amounts::pro_rata,
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
                // worth less than sending it back: what these units cost, in CNY
                let value = pro_rata(facts.paid_minor, facts.line_quantity, ask.quantity);
                if facts.currency != platform_policy::CURRENCY || value > max_line_minor {
                    return not_met(&format!(
                        "the units are worth {value} {}, above the low-value bound of \
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
pub(crate) mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// Signed for at 10:00 on 2 March 2026, Beijing time.
    pub(crate) fn facts(now: &str) -> Facts {
        Facts {
            now: at(now),
            signed_for: Some(at("2026-03-02T10:00:00+08:00")),
            shipped: Some(at("2026-02-28T10:00:00+08:00")),
            promised_ship: Some(at("2026-02-28T23:00:00+08:00")),
            promised_delivery: Some(at("2026-03-02T23:00:00+08:00")),
            cancelled: false,
            category: "apparel".into(),
            special_goods: false,
            line_quantity: 2,
            claimed: 0,
            paid_minor: 8_000,
            currency: "CNY".into(),
            payment_recorded: true,
            logistics_recorded: true,
        }
    }

    fn ask(kind: Kind, reason: Reason) -> Ask {
        Ask {
            kind,
            reason,
            quantity: 1,
            has_evidence: true,
        }
    }

    /// Under the platform's default refund-only list.
    fn decide(a: Ask, f: &Facts, p: &Policy) -> Result<Admitted, Refused> {
        super::decide(a, f, p, &PlatformPolicy::default())
    }

    fn rule(r: Result<Admitted, Refused>) -> String {
        match r {
            Ok(a) => a.rule,
            Err(e) => e.rule.to_string(),
        }
    }

    #[test]
    fn no_reason_window_ends_at_midnight_of_day_seven_beijing_time() {
        let p = Policy::default();
        let a = ask(Kind::ReturnRefund, Reason::NoReason);
        // day 7 (9 March) at 23:59:59 is inside
        let ok = decide(a, &facts("2026-03-09T23:59:59+08:00"), &p).unwrap();
        assert_eq!(ok.window_end, Some(at("2026-03-10T00:00:00+08:00")));
        // day 8 (10 March) at 00:00 is outside
        assert_eq!(
            rule(decide(a, &facts("2026-03-10T00:00:00+08:00"), &p)),
            "NO_REASON_WINDOW_CLOSED"
        );
        // the same instant in UTC: 9 March 16:00Z is 10 March 00:00 in Beijing
        assert_eq!(
            rule(decide(a, &facts("2026-03-09T16:00:00Z"), &p)),
            "NO_REASON_WINDOW_CLOSED"
        );
        assert_eq!(
            rule(decide(a, &facts("2026-03-09T15:59:59Z"), &p)),
            "no_reason_window"
        );
    }

    #[test]
    fn a_merchant_may_offer_longer_windows_per_category() {
        let mut p = Policy::default();
        p.no_reason_window_days_by_category
            .insert("apparel".into(), 15);
        let a = ask(Kind::Exchange, Reason::NoReason);
        assert_eq!(
            rule(decide(a, &facts("2026-03-17T12:00:00+08:00"), &p)),
            "no_reason_window"
        );
        assert_eq!(
            rule(decide(a, &facts("2026-03-18T00:00:00+08:00"), &p)),
            "NO_REASON_WINDOW_CLOSED"
        );
    }

    #[test]
    fn special_goods_have_no_no_reason_return_but_quality_still_applies() {
        let mut f = facts("2026-03-03T12:00:00+08:00");
        f.special_goods = true;
        let p = Policy::default();
        assert_eq!(
            rule(decide(ask(Kind::ReturnRefund, Reason::NoReason), &f, &p)),
            "SPECIAL_GOODS"
        );
        assert_eq!(
            rule(decide(
                ask(Kind::ReturnRefund, Reason::QualityDefect),
                &f,
                &p
            )),
            "quality_reasonable_use:quality_defect"
        );
        // a category the merchant lists publicly as special is excluded too
        let listed = Policy {
            special_goods_categories: vec!["apparel".into()],
            ..Policy::default()
        };
        let f = facts("2026-03-03T12:00:00+08:00");
        assert_eq!(
            rule(decide(
                ask(Kind::ReturnRefund, Reason::NoReason),
                &f,
                &listed
            )),
            "SPECIAL_GOODS"
        );
    }

    #[test]
    fn quality_problems_beyond_seven_days_within_reasonable_use() {
        let p = Policy::default();
        let a = ask(Kind::ReturnRefund, Reason::NotAsDescribed);
        assert_eq!(
            rule(decide(a, &facts("2026-03-20T12:00:00+08:00"), &p)),
            "quality_reasonable_use:not_as_described"
        );
        // 90 days: until 24:00 of 31 May
        assert!(decide(a, &facts("2026-05-31T23:59:59+08:00"), &p).is_ok());
        assert_eq!(
            rule(decide(a, &facts("2026-06-01T00:00:00+08:00"), &p)),
            "REASONABLE_USE_PERIOD_OVER"
        );
    }

    #[test]
    fn refund_only_needs_a_listed_reason_whose_facts_hold() {
        let p = Policy::default();
        let now = "2026-03-03T12:00:00+08:00";
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::NoReason),
                &facts(now),
                &p
            )),
            "REFUND_ONLY_REASON_REQUIRED"
        );
        assert_eq!(
            rule(decide(
                ask(Kind::ReturnRefund, Reason::NotReceived),
                &facts(now),
                &p
            )),
            "REASON_NEEDS_REFUND_ONLY"
        );
        // signed for: not "not received"
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::NotReceived),
                &facts(now),
                &p
            )),
            "REFUND_ONLY_FACTS_NOT_MET"
        );
        let mut lost = facts(now);
        lost.signed_for = None;
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::NotReceived),
                &lost,
                &p
            )),
            "refund_only:not_received"
        );
        // delivered 71 h late: not enough; 73 h: yes
        let mut late = facts(now);
        late.signed_for = Some(at("2026-03-05T22:00:00+08:00"));
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::DeliveryLate72h),
                &late,
                &p
            )),
            "REFUND_ONLY_FACTS_NOT_MET"
        );
        late.signed_for = Some(at("2026-03-06T00:00:00+08:00"));
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::DeliveryLate72h),
                &late,
                &p
            )),
            "refund_only:delivery_late_72h"
        );
        // missing parts needs evidence
        let no_evidence = Ask {
            has_evidence: false,
            ..ask(Kind::RefundOnly, Reason::MissingParts)
        };
        assert_eq!(
            rule(decide(no_evidence, &facts(now), &p)),
            "EVIDENCE_REQUIRED"
        );
        // cancelled before shipment
        let mut cancelled = facts(now);
        (cancelled.cancelled, cancelled.shipped, cancelled.signed_for) = (true, None, None);
        assert_eq!(
            rule(decide(
                ask(Kind::RefundOnly, Reason::CancelledBeforeShipment),
                &cancelled,
                &p
            )),
            "refund_only:cancelled_before_shipment"
        );
    }

    #[test]
    fn quantity_is_bounded_by_what_remains_and_exchanges_by_the_policy() {
        let p = Policy::default();
        let mut f = facts("2026-03-03T12:00:00+08:00");
        f.claimed = 1;
        let two = Ask {
            quantity: 2,
            ..ask(Kind::ReturnRefund, Reason::NoReason)
        };
        assert_eq!(rule(decide(two, &f, &p)), "QUANTITY_EXCEEDS_RETURNABLE");
        let zero = Ask {
            quantity: 0,
            ..ask(Kind::ReturnRefund, Reason::NoReason)
        };
        assert_eq!(rule(decide(zero, &f, &p)), "QUANTITY_EXCEEDS_RETURNABLE");
        assert!(decide(ask(Kind::ReturnRefund, Reason::NoReason), &f, &p).is_ok());
        let no_exchange = Policy {
            exchange_allowed: false,
            ..Policy::default()
        };
        assert_eq!(
            rule(decide(
                ask(Kind::Exchange, Reason::NoReason),
                &f,
                &no_exchange
            )),
            "EXCHANGE_NOT_OFFERED"
        );
    }

    #[test]
    fn the_refund_only_list_is_platform_data_and_low_value_has_its_bound() {
        let p = Policy::default();
        let now = "2026-03-03T12:00:00+08:00";
        let broken = ask(Kind::RefundOnly, Reason::ReceivedBrokenLowValue);
        // 1 of 2 units of a CNY 80 line: CNY 40, under the CNY 50 bound
        assert_eq!(
            rule(decide(broken, &facts(now), &p)),
            "refund_only:received_broken_low_value"
        );
        let mut dear = facts(now);
        dear.paid_minor = 12_000;
        assert_eq!(rule(decide(broken, &dear, &p)), "REFUND_ONLY_FACTS_NOT_MET");
        // an admin raises the bound: the same request is admitted
        let mut platform = PlatformPolicy::default();
        for c in platform.refund_only.iter_mut() {
            if c.reason == Reason::ReceivedBrokenLowValue {
                c.condition = Condition::EvidenceAndLowValue {
                    max_line_minor: 6_000,
                };
            }
        }
        assert!(super::decide(broken, &dear, &p, &platform).is_ok());
        // and takes counterfeit off the list
        platform
            .refund_only
            .retain(|c| c.reason != Reason::Counterfeit);
        let fake = ask(Kind::RefundOnly, Reason::Counterfeit);
        assert!(decide(fake, &facts(now), &p).is_ok());
        assert_eq!(
            rule(super::decide(fake, &facts(now), &p, &platform)),
            "REFUND_ONLY_REASON_NOT_LISTED"
        );
    }
}
