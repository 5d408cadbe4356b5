//! The clocks' spans as SPEC §3 states them, computed on the real `cn` calendar (its
//! holidays and make-up working days), never from test overrides; and the guard table.

use super::*;
use crate::domain::{
    case::Parcel,
    fixture::case,
    kinds::{Kind, State},
};

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

/// The due time of `kind` started at `start` on a request `c`, with the SPEC spans.
fn due_of(kind: ClockKind, policy: &Policy, c: &Case, start: &str) -> DateTime<Utc> {
    let span = span(kind, None, policy, &PlatformSpans::default(), c);
    due(&span, at(start))
}

fn spec(kind: ClockKind, start: &str) -> DateTime<Utc> {
    due_of(kind, &Policy::default(), &case(Kind::ReturnRefund), start)
}

#[test]
fn the_review_runs_48_hours_or_the_24_the_merchant_promised() {
    assert_eq!(
        spec(ClockKind::MerchantReview, "2026-03-03T10:00:00+08:00"),
        at("2026-03-05T10:00:00+08:00")
    );
    let promised = Policy {
        review_hours: 24,
        ..Policy::default()
    };
    let c = case(Kind::ReturnRefund);
    assert_eq!(
        due_of(
            ClockKind::MerchantReview,
            &promised,
            &c,
            "2026-03-03T10:00:00+08:00"
        ),
        at("2026-03-04T10:00:00+08:00")
    );
}

#[test]
fn shipping_back_takes_3_working_days_across_the_spring_festival() {
    // approved Thu 12 Feb 2026: Fri 13, the make-up Saturday 14, then the holiday
    // (15-23 Feb) until Tue 24: the third working day ends at 24:00 on the 24th
    assert_eq!(
        spec(ClockKind::BuyerReturnShipment, "2026-02-12T10:00:00+08:00"),
        at("2026-02-25T00:00:00+08:00")
    );
}

#[test]
fn inspection_takes_3_working_days_across_national_day() {
    // delivered Wed 30 Sep 2026: 1-7 Oct are holidays; Thu 8, Fri 9 and the make-up
    // Saturday 10 Oct are the three working days
    assert_eq!(
        spec(ClockKind::MerchantInspection, "2026-09-30T15:00:00+08:00"),
        at("2026-10-11T00:00:00+08:00")
    );
}

#[test]
fn the_refund_or_replacement_takes_7_working_days_across_labour_day() {
    // passed Tue 28 Apr 2026: Wed 29, Thu 30, (1-5 May holiday), Wed 6, Thu 7, Fri 8,
    // the make-up Saturday 9, Mon 11
    assert_eq!(
        spec(ClockKind::RefundOrReplacement, "2026-04-28T10:00:00+08:00"),
        at("2026-05-12T00:00:00+08:00")
    );
}

#[test]
fn confirmation_appeal_ruling_and_address_are_calendar_time() {
    // 7 days after delivery, holidays or not
    assert_eq!(
        spec(
            ClockKind::ReplacementConfirmation,
            "2026-10-01T12:00:00+08:00"
        ),
        at("2026-10-08T12:00:00+08:00")
    );
    // the policy's appeal window: 5 days by default
    assert_eq!(
        spec(ClockKind::RejectAppeal, "2026-03-03T10:00:00+08:00"),
        at("2026-03-08T10:00:00+08:00")
    );
    // the platform's ruling clock: 7 days by default
    assert_eq!(
        spec(ClockKind::DisputeRuling, "2026-03-03T10:00:00+08:00"),
        at("2026-03-10T10:00:00+08:00")
    );
    assert_eq!(
        spec(ClockKind::ReturnAddress, "2026-03-03T10:00:00+08:00"),
        at("2026-03-04T10:00:00+08:00")
    );
}

fn shipped(promised: Option<&str>) -> Case {
    let mut c = case(Kind::ReturnRefund);
    c.return_parcel = Some(Parcel {
        carrier_code: "sf".into(),
        tracking_number: "SF1".into(),
        shipment: None,
        shipped_at: at("2026-03-03T10:00:00+08:00"),
        delivered_at: None,
        promised: promised.map(at),
        carrier_seen: None,
        problem: None,
    });
    c
}

#[test]
fn a_parcel_is_lost_72_hours_after_its_promised_delivery() {
    let p = Policy::default();
    let start = "2026-03-03T10:00:00+08:00";
    let promised = shipped(Some("2026-03-05T18:00:00+08:00"));
    assert_eq!(
        due_of(ClockKind::ReturnTransit, &p, &promised, start),
        at("2026-03-08T18:00:00+08:00"),
        "promise + 72 h"
    );
    assert_eq!(
        due_of(ClockKind::ReturnTransit, &p, &shipped(None), start),
        at("2026-03-13T10:00:00+08:00"),
        "no promise: the 7-day default transit + 72 h"
    );
    let past = shipped(Some("2026-03-01T10:00:00+08:00"));
    assert_eq!(
        due_of(ClockKind::ReturnTransit, &p, &past, start),
        at("2026-03-06T10:00:00+08:00"),
        "a promise already past when shipped: never less than the 72 h"
    );
}

#[test]
fn an_override_replaces_any_span() {
    let two = Some(Duration::from_secs(2));
    for kind in ClockKind::ALL {
        assert_eq!(
            span(
                kind,
                two,
                &Policy::default(),
                &PlatformSpans::default(),
                &case(Kind::ReturnRefund)
            ),
            Span::After(Duration::from_secs(2))
        );
    }
}

#[test]
fn every_expiry_has_its_automatic_transition() {
    let p = Policy::default();
    let actions: Vec<_> = ClockKind::ALL
        .iter()
        .map(|k| on_expiry(*k, &p).action())
        .collect();
    assert_eq!(
        actions,
        [
            "auto_approve",
            "ship_back_expired",
            "auto_pass_inspection",
            "refund_or_replacement_overdue",
            "auto_confirm",
            "appeal_window_expired",
            "dispute_ruling_overdue",
            "transit_expired",
            "transit_expired",
            "return_address_overdue",
        ]
    );
}

#[test]
fn every_state_is_final_or_guarded_and_every_clock_guards_a_state() {
    // State::ALL is every state the contract numbers
    let numbered: Vec<State> = (i16::MIN..=i16::MAX).filter_map(State::from_i16).collect();
    assert_eq!(numbered, State::ALL);
    for s in State::ALL {
        assert_eq!(
            guards(s).is_empty(),
            s.is_terminal(),
            "{} must be final or wait under a clock",
            s.as_str()
        );
    }
    for k in ClockKind::ALL {
        assert!(
            State::ALL.iter().any(|s| guards(*s).contains(&k)),
            "{} guards no state",
            k.as_str()
        );
    }
}
