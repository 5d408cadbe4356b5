use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::*;
use crate::domain::{
    case::{Refunds, Shipping},
    kinds::Reason,
    policy::Payer,
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-03T10:00:00+08:00")
        .unwrap()
        .to_utc()
}

fn case(kind: Kind) -> Case {
    Case {
        id: Uuid::nil(),
        kind,
        state: State::Requested,
        order_id: "demo-1".into(),
        order_line_id: "l1".into(),
        quantity: 1,
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        category: "apparel".into(),
        region: "CN-31".into(),
        reason: Reason::QualityDefect,
        description: "torn".into(),
        evidence: Vec::new(),
        exchange_sku: String::new(),
        eligibility_rule: "quality_reasonable_use:quality_defect".into(),
        window_end: None,
        line_amount_minor: 19_900,
        currency: "CNY".into(),
        clock: Some(Clock {
            kind: ClockKind::MerchantReview,
            start: t0(),
            due: None,
            seq: 1,
        }),
        clock_seq: 1,
        approval: None,
        rejection: None,
        return_parcel: None,
        inspection: None,
        replacement_parcel: None,
        shipping: Shipping {
            payer: Payer::Seller,
            amount_minor: 0,
            basis: "quality_problem_seller_pays".into(),
            estimate_minor: 1_000,
        },
        refunds: Refunds::default(),
        overdue_since: None,
        late_days: 0,
        penalty_minor: 0,
        dispute: None,
        dispute_origin: None,
        first_response: None,
        created: t0(),
        updated: t0(),
        closed: None,
    }
}

fn step(c: &Case, cmd: Command) -> (Case, Vec<Effect>) {
    apply(c, cmd, t0() + Duration::hours(1)).unwrap()
}

fn approve() -> Command {
    Command::Approve {
        address: Some(Address::default()),
        carriers: vec!["sf".into()],
        note: String::new(),
        auto: false,
    }
}

fn refunds_asked(effects: &[Effect]) -> Vec<(RefundPurpose, i64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RequestRefund {
                purpose,
                amount_minor,
            } => Some((*purpose, *amount_minor)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_return_goes_through_shipment_inspection_and_refund() {
    let c = case(Kind::ReturnRefund);
    let (c, fx) = step(&c, approve());
    assert_eq!(c.state, State::AwaitingReturnShipment);
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::BuyerReturnShipment
    );
    assert!(fx.contains(&Effect::StopClock { seq: 1 }) && fx.contains(&Effect::StartClock));
    let (c, fx) = step(
        &c,
        Command::SubmitShipment {
            carrier: "SF".into(),
            tracking: "SF1".into(),
            cost_minor: Some(1_500),
        },
    );
    assert_eq!(c.state, State::ReturnInTransit);
    assert_eq!(
        c.shipping.amount_minor, 1_000,
        "capped by the platform estimate"
    );
    assert!(fx.contains(&Effect::RegisterShipment { leg: Leg::Return }));
    assert!(c.clock.is_none(), "no clock while the carrier has it");
    let (c, _) = step(
        &c,
        Command::ReturnDelivered {
            at: t0(),
            shipment: "shipments/1".into(),
        },
    );
    assert_eq!(
        (c.state, c.clock.as_ref().unwrap().kind),
        (State::Inspecting, ClockKind::MerchantInspection)
    );
    let (c, fx) = step(
        &c,
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: Vec::new(),
            auto: false,
        },
    );
    assert_eq!(c.state, State::Refunding);
    assert_eq!(
        refunds_asked(&fx),
        [
            (RefundPurpose::Goods, 19_900),
            (RefundPurpose::ShippingFee, 1_000)
        ]
    );
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::RefundOrReplacement
    );
    let (c, fx) = step(
        &c,
        Command::RefundSettled {
            refund: "refunds/a".into(),
            goods: true,
            amount_minor: 19_900,
            at: t0(),
        },
    );
    assert_eq!(c.state, State::Completed);
    assert!(c.closed.is_some() && c.clock.is_none());
    assert!(fx.contains(&Effect::Publish(Event::Completed { auto: false })));
    // a duplicate settlement changes nothing
    assert!(
        apply(
            &c,
            Command::RefundSettled {
                refund: "refunds/a".into(),
                goods: true,
                amount_minor: 19_900,
                at: t0()
            },
            t0()
        )
        .is_err()
    );
}

#[test]
fn refund_only_goes_to_refunding_on_approval() {
    let (c, fx) = step(
        &case(Kind::RefundOnly),
        Command::Approve {
            address: None,
            carriers: vec![],
            note: String::new(),
            auto: false,
        },
    );
    assert_eq!(c.state, State::Refunding);
    assert_eq!(refunds_asked(&fx), [(RefundPurpose::Goods, 19_900)]);
}

#[test]
fn an_exchange_ships_a_replacement_and_is_confirmed() {
    let c = case(Kind::Exchange);
    let (c, _) = step(&c, approve());
    let (c, _) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            cost_minor: None,
        },
    );
    let (c, _) = step(
        &c,
        Command::ReturnDelivered {
            at: t0(),
            shipment: "s/1".into(),
        },
    );
    let (c, fx) = step(
        &c,
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: vec![],
            auto: false,
        },
    );
    assert_eq!(c.state, State::AwaitingReplacement);
    assert!(refunds_asked(&fx).is_empty(), "an exchange refunds nothing");
    let (c, fx) = step(
        &c,
        Command::ShipReplacement {
            carrier: "sf".into(),
            tracking: "SF2".into(),
        },
    );
    assert_eq!(c.state, State::ReplacementInTransit);
    assert!(fx.contains(&Effect::RegisterShipment {
        leg: Leg::Replacement
    }));
    let (c, _) = step(
        &c,
        Command::ReplacementDelivered {
            at: t0(),
            shipment: "s/2".into(),
        },
    );
    assert_eq!(
        (c.state, c.clock.as_ref().unwrap().kind),
        (
            State::AwaitingBuyerConfirmation,
            ClockKind::ReplacementConfirmation
        )
    );
    let (c, fx) = step(&c, Command::Confirm { auto: true });
    assert_eq!(c.state, State::Completed);
    assert!(fx.contains(&Effect::Publish(Event::Completed { auto: true })));
}

#[test]
fn illegal_transitions_are_refused() {
    let c = case(Kind::ReturnRefund);
    for cmd in [
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: vec![],
            auto: false,
        },
        Command::Confirm { auto: false },
        Command::ShipBackExpired,
        Command::Appeal {
            statement: "x".into(),
            evidence: vec![],
        },
        Command::ShipReplacement {
            carrier: "sf".into(),
            tracking: "1".into(),
        },
    ] {
        let action = cmd.action();
        assert_eq!(
            apply(&c, cmd, t0()),
            Err(Refusal::IllegalState {
                state: State::Requested,
                action
            })
        );
    }
    let (approved, _) = step(&c, approve());
    assert!(
        matches!(
            apply(&approved, approve(), t0()),
            Err(Refusal::IllegalState { .. })
        ),
        "approved twice"
    );
    let (completed, _) = step(
        &approved,
        Command::Cancel {
            reason: String::new(),
        },
    );
    assert_eq!(completed.state, State::Cancelled);
    assert!(
        apply(
            &completed,
            Command::Cancel {
                reason: String::new()
            },
            t0()
        )
        .is_err()
    );
}

#[test]
fn the_buyer_may_cancel_only_before_the_goods_arrive() {
    let (c, _) = step(&case(Kind::ReturnRefund), approve());
    let (c, _) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            cost_minor: None,
        },
    );
    assert!(
        apply(
            &c,
            Command::Cancel {
                reason: String::new()
            },
            t0()
        )
        .is_ok(),
        "in transit: still allowed"
    );
    let (c, _) = step(
        &c,
        Command::ReturnDelivered {
            at: t0(),
            shipment: "s/1".into(),
        },
    );
    assert!(
        apply(
            &c,
            Command::Cancel {
                reason: String::new()
            },
            t0()
        )
        .is_err(),
        "received: too late"
    );
}

#[test]
fn rejection_appeal_and_rulings() {
    let c = case(Kind::ReturnRefund);
    assert!(matches!(
        apply(
            &c,
            Command::Reject {
                reason: " ".into(),
                evidence: vec![]
            },
            t0()
        ),
        Err(Refusal::Invalid {
            field: "reason",
            ..
        })
    ));
    let (rejected, _) = step(
        &c,
        Command::Reject {
            reason: "used".into(),
            evidence: vec![],
        },
    );
    assert_eq!(
        (rejected.state, rejected.clock.as_ref().unwrap().kind),
        (State::Rejected, ClockKind::RejectAppeal)
    );
    let (lapsed, _) = step(&rejected, Command::AppealExpired);
    assert_eq!(lapsed.state, State::Closed);
    let (disputed, fx) = step(
        &rejected,
        Command::Appeal {
            statement: "it was torn".into(),
            evidence: vec![],
        },
    );
    assert_eq!(disputed.state, State::InDispute);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Publish(Event::DisputeOpened {
            origin: DisputeOrigin::Appeal,
            ..
        })
    )));
    let (upheld, _) = step(
        &disputed,
        Command::Ruling {
            complaint: "complaints/1".into(),
            outcome: Outcome::BuyerUpheld,
        },
    );
    assert_eq!(
        upheld.state,
        State::AwaitingReturnShipment,
        "the rejection is overturned"
    );
    let (lost, _) = step(
        &disputed,
        Command::Ruling {
            complaint: "complaints/1".into(),
            outcome: Outcome::MerchantUpheld,
        },
    );
    assert_eq!(lost.state, State::Closed);
}

#[test]
fn a_failed_inspection_opens_a_dispute_that_a_ruling_can_turn_into_a_refund() {
    let (c, _) = step(&case(Kind::ReturnRefund), approve());
    let (c, _) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            cost_minor: None,
        },
    );
    let (c, _) = step(
        &c,
        Command::ReturnDelivered {
            at: t0(),
            shipment: "s/1".into(),
        },
    );
    assert!(matches!(
        apply(
            &c,
            Command::Inspect {
                passed: false,
                note: "used".into(),
                evidence: vec![],
                auto: false
            },
            t0()
        ),
        Err(Refusal::Invalid { .. })
    ));
    let fail = Command::Inspect {
        passed: false,
        note: "used".into(),
        evidence: vec![Evidence::default()],
        auto: false,
    };
    let (c, _) = step(&c, fail);
    assert_eq!(c.state, State::InDispute);
    let (c, fx) = step(
        &c,
        Command::Ruling {
            complaint: "complaints/2".into(),
            outcome: Outcome::BuyerUpheld,
        },
    );
    assert_eq!(c.state, State::Refunding);
    assert_eq!(refunds_asked(&fx)[0], (RefundPurpose::Goods, 19_900));
}

#[test]
fn a_late_refund_accrues_half_a_percent_a_day() {
    let mut c = case(Kind::ReturnRefund);
    c.state = State::Refunding;
    c.clock = Some(Clock {
        kind: ClockKind::RefundOrReplacement,
        start: t0(),
        due: Some(t0()),
        seq: 5,
    });
    let (c, fx) = step(&c, Command::Overdue);
    assert_eq!(c.overdue_since, Some(t0()));
    assert!(fx.contains(&Effect::Publish(Event::Overdue)));
    // settled 2 days and 1 hour late: 3 started days, 1.5 % of 199.00 = 2.985 -> 2.99
    let at = t0() + Duration::hours(49);
    let (c, fx) = apply(
        &c,
        Command::RefundSettled {
            refund: "refunds/a".into(),
            goods: true,
            amount_minor: 19_900,
            at,
        },
        at,
    )
    .unwrap();
    assert_eq!((c.late_days, c.penalty_minor), (3, 299));
    assert!(refunds_asked(&fx).contains(&(RefundPurpose::LatePenalty, 299)));
    assert_eq!(late_days(t0(), t0()), 0);
    assert_eq!(late_days(t0(), t0() + Duration::seconds(1)), 1);
    assert_eq!(late_days(t0(), t0() + Duration::days(10)), 10);
}

#[test]
fn the_buyer_forfeits_when_not_shipping_back_in_time() {
    let (c, _) = step(&case(Kind::ReturnRefund), approve());
    let (c, fx) = step(&c, Command::ShipBackExpired);
    assert_eq!(c.state, State::ClosedForfeited);
    assert!(
        refunds_asked(&fx).is_empty(),
        "buyer-caused: no penalty, no refund"
    );
    assert!(c.state.releases_units());
}

#[test]
fn a_partial_ruling_closes_without_a_full_refund() {
    let (c, _) = step(
        &case(Kind::ReturnRefund),
        Command::Reject {
            reason: "worn".into(),
            evidence: vec![],
        },
    );
    let (c, _) = step(
        &c,
        Command::Appeal {
            statement: "not worn".into(),
            evidence: vec![],
        },
    );
    let (c, fx) = step(
        &c,
        Command::Ruling {
            complaint: "complaints/3".into(),
            outcome: Outcome::Partial,
        },
    );
    assert_eq!(c.state, State::Closed);
    assert!(
        refunds_asked(&fx).is_empty(),
        "the remedies are paid by complaints"
    );
}

#[test]
fn a_delivery_from_before_the_parcel_was_shipped_is_refused() {
    let (c, _) = step(&case(Kind::ReturnRefund), approve());
    let (c, _) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            cost_minor: None,
        },
    );
    let weeks_ago = t0() - Duration::days(20);
    assert!(matches!(
        apply(
            &c,
            Command::ReturnDelivered {
                at: weeks_ago,
                shipment: "s/1".into()
            },
            t0()
        ),
        Err(Refusal::Invalid {
            field: "delivered_time",
            ..
        })
    ));
}
