//! Eligibility on the real windows: Beijing midnights, merchant windows, special goods,
//! the refund-only cases of the platform's list.

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
    // a CNY 40 line, under the CNY 50 bound
    let mut cheap = facts(now);
    cheap.paid_minor = 4_000;
    assert_eq!(
        rule(decide(broken, &cheap, &p)),
        "refund_only:received_broken_low_value"
    );
    // 1 of 2 units of a CNY 80 line: the line, not the unit, is what the bound weighs
    let dear = facts(now);
    assert_eq!(rule(decide(broken, &dear, &p)), "REFUND_ONLY_FACTS_NOT_MET");
    // an admin raises the bound: the same request is admitted
    let mut platform = PlatformPolicy::default();
    for c in platform.refund_only.iter_mut() {
        if c.reason == Reason::ReceivedBrokenLowValue {
            c.condition = Condition::EvidenceAndLowValue {
                max_line_minor: 8_000,
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
