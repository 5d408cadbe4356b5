use chrono::Duration;

use super::*;
use crate::domain::{
    case::{Clock, Evidence, LostOutcome, RefundProblemKind},
    fixture::{case, t0},
    platform_policy::PackagingDamage,
    policy::Payer,
};

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
            outlay: Outlay {
                cost_minor: Some(1_500),
                receipt: Some(Evidence::default()),
                damage: Some(PackagingDamage::Minor),
                packaging_fee_minor: 300,
            },
            promised: None,
        },
    );
    assert_eq!(c.state, State::ReturnInTransit);
    assert_eq!(
        (c.shipping.carrier_minor, c.shipping.amount_minor),
        (1_000, 1_300),
        "the carrier cost capped by the platform's cap, plus packaging"
    );
    assert!(fx.contains(&Effect::RegisterShipment { leg: Leg::Return }));
    assert_eq!(
        c.clock.as_ref().map(|k| k.kind),
        Some(ClockKind::ReturnTransit),
        "the carrier has it, on the transit clock (issue 23: no case waits forever)"
    );
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
            packaging: None,
        },
    );
    assert_eq!(c.state, State::Refunding);
    assert_eq!(
        refunds_asked(&fx),
        [
            (RefundPurpose::Goods, 19_900),
            (RefundPurpose::ShippingFee, 1_300)
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
            outlay: Outlay {
                cost_minor: Some(800),
                receipt: Some(Evidence::default()),
                ..Outlay::default()
            },
            promised: None,
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
            packaging: None,
        },
    );
    assert_eq!(c.state, State::AwaitingReplacement);
    assert_eq!(
        refunds_asked(&fx),
        [(RefundPurpose::ShippingFee, 800)],
        "a quality exchange refunds no goods but the return shipping the seller pays"
    );
    let (c, fx) = step(
        &c,
        Command::ShipReplacement {
            carrier: "sf".into(),
            tracking: "SF2".into(),
            promised: None,
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
            packaging: None,
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
            promised: None,
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
            outlay: Outlay::default(),
            promised: None,
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
            address: None,
            carriers: vec![],
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
            address: None,
            carriers: vec![],
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
            outlay: Outlay::default(),
            promised: None,
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
                auto: false,
                packaging: None,
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
        packaging: None,
    };
    let (c, _) = step(&c, fail);
    assert_eq!(c.state, State::InDispute);
    let (c, fx) = step(
        &c,
        Command::Ruling {
            complaint: "complaints/2".into(),
            outcome: Outcome::BuyerUpheld,
            address: None,
            carriers: vec![],
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
        escalated: None,
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
            address: None,
            carriers: vec![],
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
            outlay: Outlay::default(),
            promised: None,
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

fn in_transit(kind: Kind) -> Case {
    let (c, _) = step(&case(kind), approve());
    let (c, _) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            outlay: Outlay::default(),
            promised: None,
        },
    );
    c
}

fn lost(leg: Leg, cause: ParcelCause) -> Command {
    Command::ParcelLost {
        leg,
        cause,
        detail: "lost at the hub".into(),
        at: t0() + Duration::hours(30),
    }
}

fn told(fx: &[Effect]) -> Vec<(Party, &'static str)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify { to, template } => Some((*to, *template)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_carrier_exception_is_told_and_the_transit_clock_decides_at_the_sellers_risk() {
    let c = in_transit(Kind::ReturnRefund);
    // an exception is not final in logistics: the parcel may still arrive
    let (c, fx) = step(&c, lost(Leg::Return, ParcelCause::Exception));
    assert_eq!(c.state, State::ReturnInTransit, "nothing refunded yet");
    assert!(refunds_asked(&fx).is_empty());
    assert_eq!(
        c.clock.as_ref().map(|k| k.kind),
        Some(ClockKind::ReturnTransit),
        "the transit clock still runs"
    );
    let p = c.return_parcel.as_ref().unwrap();
    assert!(
        p.carrier_seen.is_some(),
        "the exception proves the shipment"
    );
    assert_eq!(
        p.problem.as_ref().unwrap().outcome,
        LostOutcome::AwaitingCarrier
    );
    assert_eq!(
        told(&fx),
        [
            (Party::Buyer, "return_parcel_exception"),
            (Party::Merchant, "return_parcel_exception"),
            (Party::Platform, "return_parcel_exception")
        ]
    );
    assert!(
        apply(&c, lost(Leg::Return, ParcelCause::Exception), t0()).is_err(),
        "a repeated exception scan tells nobody again"
    );
    // not delivered by the deadline: the carrier had it, so the seller bears the risk
    let (done, fx) = step(&c, Command::TransitExpired { leg: Leg::Return });
    assert_eq!(done.state, State::Refunding, "as if inspected and passed");
    assert_eq!(refunds_asked(&fx)[0], (RefundPurpose::Goods, 19_900));
    let problem = done
        .return_parcel
        .as_ref()
        .unwrap()
        .problem
        .clone()
        .unwrap();
    assert_eq!(problem.outcome, LostOutcome::SellerBearsRisk);
    assert!(
        problem
            .detail
            .ends_with("the carrier reported: lost at the hub")
    );
    assert!(fx.contains(&Effect::Publish(Event::ParcelLost { leg: Leg::Return })));
    let t = told(&fx);
    assert!(t.contains(&(Party::Buyer, "return_parcel_lost")));
    assert!(t.contains(&(Party::Merchant, "return_parcel_lost")));
    // delivered after all: inspected as usual
    let (arrived, _) = step(
        &c,
        Command::ReturnDelivered {
            at: t0() + Duration::hours(40),
            shipment: "shipments/1".into(),
        },
    );
    assert_eq!(arrived.state, State::Inspecting);
    // an exchange's lost return parcel: the replacement is due instead
    let (x, _) = step(
        &in_transit(Kind::Exchange),
        lost(Leg::Return, ParcelCause::Exception),
    );
    let (x, _) = step(&x, Command::TransitExpired { leg: Leg::Return });
    assert_eq!(x.state, State::AwaitingReplacement);
}

#[test]
fn a_return_parcel_never_scanned_goes_to_a_dispute_and_one_scanned_is_refunded() {
    let c = in_transit(Kind::ReturnRefund);
    let (untracked, fx) = step(&c, Command::TransitExpired { leg: Leg::Return });
    assert_eq!(untracked.state, State::InDispute, "no proof of shipment");
    assert_eq!(
        untracked.dispute_origin,
        Some(DisputeOrigin::ParcelUntracked)
    );
    assert_eq!(
        untracked.clock.as_ref().unwrap().kind,
        ClockKind::DisputeRuling
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Publish(Event::DisputeOpened {
            origin: DisputeOrigin::ParcelUntracked,
            ..
        })
    )));
    // the carrier scanned it once: the expiry is the seller's risk
    let (seen, fx) = step(
        &c,
        Command::ParcelSeen {
            leg: Leg::Return,
            shipment: "shipments/1".into(),
            promised: None,
            at: t0() + Duration::hours(2),
        },
    );
    assert!(told(&fx).is_empty(), "a scan is nobody's news");
    assert!(
        apply(
            &seen,
            Command::ParcelSeen {
                leg: Leg::Return,
                shipment: "shipments/1".into(),
                promised: None,
                at: t0() + Duration::hours(3),
            },
            t0()
        )
        .is_err(),
        "a second scan changes nothing"
    );
    let (c, _) = step(&seen, Command::TransitExpired { leg: Leg::Return });
    assert_eq!(c.state, State::Refunding);
}

#[test]
fn a_promised_delivery_reported_later_re_dates_the_transit_clock() {
    let c = in_transit(Kind::ReturnRefund);
    let seq = c.clock.as_ref().unwrap().seq;
    let promise = t0() + Duration::days(2);
    let (c, fx) = step(
        &c,
        Command::ParcelSeen {
            leg: Leg::Return,
            shipment: "shipments/1".into(),
            promised: Some(promise),
            at: t0() + Duration::hours(2),
        },
    );
    assert!(fx.contains(&Effect::StopClock { seq }) && fx.contains(&Effect::StartClock));
    let k = c.clock.as_ref().unwrap();
    assert_eq!(
        (k.kind, k.start),
        (
            ClockKind::ReturnTransit,
            c.return_parcel.as_ref().unwrap().shipped_at
        ),
        "counted from the shipping again, so it runs to the promise + 72 h"
    );
    assert_eq!(c.return_parcel.as_ref().unwrap().promised, Some(promise));
}

#[test]
fn a_return_parcel_returned_to_the_buyer_is_shipped_again() {
    let c = in_transit(Kind::ReturnRefund);
    let (c, fx) = step(&c, lost(Leg::Return, ParcelCause::ReturnedToSender));
    assert_eq!(c.state, State::AwaitingReturnShipment);
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::BuyerReturnShipment
    );
    assert!(refunds_asked(&fx).is_empty());
    assert!(told(&fx).contains(&(Party::Buyer, "return_parcel_returned")));
    let (c, fx) = step(
        &c,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF2".into(),
            outlay: Outlay::default(),
            promised: None,
        },
    );
    assert_eq!(c.state, State::ReturnInTransit);
    assert!(fx.contains(&Effect::RegisterShipment { leg: Leg::Return }));
}

#[test]
fn a_lost_replacement_is_refunded_as_not_received() {
    let (c, _) = step(
        &in_transit(Kind::Exchange),
        Command::ReturnDelivered {
            at: t0(),
            shipment: "shipments/1".into(),
        },
    );
    let (c, _) = step(
        &c,
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: Vec::new(),
            auto: false,
            packaging: None,
        },
    );
    let (c, _) = step(
        &c,
        Command::ShipReplacement {
            carrier: "sf".into(),
            tracking: "SF3".into(),
            promised: None,
        },
    );
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::ReplacementTransit
    );
    let (troubled, _) = step(&c, lost(Leg::Replacement, ParcelCause::Exception));
    assert_eq!(
        troubled.state,
        State::ReplacementInTransit,
        "an exception alone refunds nothing: it may still arrive"
    );
    for cmd in [
        lost(Leg::Replacement, ParcelCause::ReturnedToSender),
        Command::TransitExpired {
            leg: Leg::Replacement,
        },
    ] {
        let (r, fx) = step(&c, cmd);
        assert_eq!(r.state, State::Refunding);
        assert_eq!(refunds_asked(&fx)[0], (RefundPurpose::Goods, 19_900));
        assert_eq!(
            r.replacement_parcel
                .as_ref()
                .unwrap()
                .problem
                .as_ref()
                .unwrap()
                .outcome,
            LostOutcome::RefundNotReceived
        );
        let t = told(&fx);
        assert!(t.contains(&(Party::Buyer, "replacement_lost")));
        assert!(t.contains(&(Party::Merchant, "replacement_lost")));
    }
}

#[test]
fn a_dispute_not_ruled_in_time_goes_to_the_platform_desk_and_waits_for_the_ruling() {
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
    assert_eq!(c.clock.as_ref().unwrap().kind, ClockKind::DisputeRuling);
    let (c, fx) = step(&c, Command::RulingOverdue);
    assert_eq!(c.state, State::InDispute, "complaints still rules");
    assert!(c.clock.as_ref().unwrap().escalated.is_some());
    assert!(told(&fx).contains(&(Party::Platform, "dispute_ruling_overdue")));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Publish(Event::Escalated {
            cause: "dispute_ruling_overdue",
            ..
        })
    )));
    // the ruling comes after all; the overturned rejection tells the policy's address
    let (c, _) = step(
        &c,
        Command::Ruling {
            complaint: "complaints/1".into(),
            outcome: Outcome::BuyerUpheld,
            address: Some(Address {
                city: "Hangzhou".into(),
                ..Address::default()
            }),
            carriers: vec!["sf".into()],
        },
    );
    assert_eq!(c.state, State::AwaitingReturnShipment);
    let a = c.approval.as_ref().unwrap();
    assert_eq!(a.return_address.as_ref().unwrap().city, "Hangzhou");
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::BuyerReturnShipment
    );
}

#[test]
fn a_refund_the_gateway_holds_up_is_escalated_and_costs_the_merchant_nothing() {
    let mut c = case(Kind::RefundOnly);
    c.state = State::Refunding;
    c.clock = Some(Clock {
        kind: ClockKind::RefundOrReplacement,
        start: t0(),
        due: Some(t0() + Duration::hours(2)),
        seq: 5,
        escalated: None,
    });
    let problem = Command::RefundProblem {
        refund: "refunds/g".into(),
        kind: RefundProblemKind::Failed,
        reason: "the payment gateway declined the payout".into(),
        goods: true,
        at: t0() + Duration::hours(1),
    };
    let (c, fx) = apply(&c, problem.clone(), t0() + Duration::hours(1)).unwrap();
    assert_eq!(c.state, State::Refunding);
    assert!(told(&fx).contains(&(Party::Platform, "refund_failed")));
    assert!(
        apply(&c, problem, t0()).is_err(),
        "the same report twice is one problem"
    );
    // the clock runs out during the problem: escalated, the merchant told, no penalty
    let (c, fx) = apply(&c, Command::Overdue, t0() + Duration::hours(2)).unwrap();
    assert!(told(&fx).contains(&(Party::Platform, "return_overdue")));
    let days_later = t0() + Duration::days(3);
    assert_eq!(crate::domain::lateness::accrued(&c, days_later), (0, 0));
    // settled three days later: the gateway's time, not the merchant's
    let (c, fx) = apply(
        &c,
        Command::RefundSettled {
            refund: "refunds/g".into(),
            goods: true,
            amount_minor: 19_900,
            at: days_later,
        },
        days_later,
    )
    .unwrap();
    assert_eq!(c.state, State::Completed);
    assert_eq!((c.late_days, c.penalty_minor), (0, 0));
    assert!(
        !refunds_asked(&fx)
            .iter()
            .any(|(p, _)| *p == RefundPurpose::LatePenalty)
    );
    assert_eq!(c.refund_problems[0].until, Some(days_later));
    assert_eq!(
        told(&fx),
        [(Party::Merchant, "return_completed")],
        "refunds tells the buyer of the settled money; returns does not repeat it"
    );
}

#[test]
fn an_auto_approval_without_an_address_waits_for_the_merchant_or_the_desk() {
    let (c, fx) = step(
        &case(Kind::ReturnRefund),
        Command::Approve {
            address: None,
            carriers: Vec::new(),
            note: String::new(),
            auto: true,
        },
    );
    assert_eq!(c.state, State::AwaitingReturnShipment);
    assert_eq!(c.clock.as_ref().unwrap().kind, ClockKind::ReturnAddress);
    let t = told(&fx);
    for n in [
        (Party::Buyer, "return_approved_address_pending"),
        (Party::Merchant, "return_auto_approved"),
        (Party::Merchant, "return_address_required"),
        (Party::Platform, "return_address_required"),
    ] {
        assert!(t.contains(&n), "{n:?} in {t:?}");
    }
    assert!(matches!(
        apply(
            &c,
            Command::SubmitShipment {
                carrier: "sf".into(),
                tracking: "SF1".into(),
                outlay: Outlay::default(),
                promised: None
            },
            t0()
        ),
        Err(Refusal::Precondition {
            reason: "RETURN_ADDRESS_PENDING",
            ..
        })
    ));
    assert!(
        matches!(
            step_err(&c, approve_without_address()),
            Refusal::Invalid { .. }
        ),
        "completing it needs the address"
    );
    let (c, fx) = step(&c, approve());
    assert_eq!(
        c.clock.as_ref().unwrap().kind,
        ClockKind::BuyerReturnShipment
    );
    assert_eq!(told(&fx), [(Party::Buyer, "return_address_provided")]);
    assert!(
        matches!(step_err(&c, approve()), Refusal::IllegalState { .. }),
        "an address given is not given again"
    );
}

fn approve_without_address() -> Command {
    Command::Approve {
        address: None,
        carriers: Vec::new(),
        note: String::new(),
        auto: false,
    }
}

fn step_err(c: &Case, cmd: Command) -> Refusal {
    apply(c, cmd, t0() + Duration::hours(1)).unwrap_err()
}

#[test]
fn a_reimbursed_cost_needs_the_carriers_receipt_and_a_buyer_paid_one_does_not() {
    let (c, _) = step(&case(Kind::ReturnRefund), approve());
    let ship = |outlay| Command::SubmitShipment {
        carrier: "sf".into(),
        tracking: "SF1".into(),
        outlay,
        promised: None,
    };
    let no_receipt = Outlay {
        cost_minor: Some(800),
        ..Outlay::default()
    };
    let at = t0() + Duration::hours(1);
    assert!(matches!(
        apply(&c, ship(no_receipt.clone()), at),
        Err(Refusal::Invalid {
            field: "shipping_receipt",
            ..
        })
    ));
    let mut buyer_pays = c.clone();
    buyer_pays.shipping.payer = Payer::Buyer;
    let (shipped, _) = apply(&buyer_pays, ship(no_receipt), at).unwrap();
    assert_eq!(shipped.shipping.amount_minor, 0);
}

#[test]
fn only_the_goods_refunds_problem_while_refunding_excuses_the_merchant() {
    let mut c = case(Kind::ReturnRefund);
    c.state = State::Refunding;
    c.overdue_since = Some(t0());
    let problem = |goods| Command::RefundProblem {
        refund: if goods { "refunds/g" } else { "refunds/s" }.into(),
        kind: RefundProblemKind::Failed,
        reason: "declined".into(),
        goods,
        at: t0(),
    };
    let later = t0() + Duration::days(3);
    let (shipping, fx) = apply(&c, problem(false), t0()).unwrap();
    assert!(
        told(&fx).contains(&(Party::Platform, "refund_failed")),
        "still shown and escalated"
    );
    assert_eq!(
        crate::domain::lateness::accrued(&shipping, later).0,
        3,
        "the shipping refund's trouble is not why the goods are late"
    );
    let (goods, _) = apply(&c, problem(true), t0()).unwrap();
    assert_eq!(crate::domain::lateness::accrued(&goods, later).0, 0);
    // an exchange waiting for its replacement: a failing refund does not excuse it
    let mut x = case(Kind::Exchange);
    x.state = State::AwaitingReplacement;
    x.overdue_since = Some(t0());
    let (x, _) = apply(&x, problem(true), t0()).unwrap();
    assert_eq!(crate::domain::lateness::accrued(&x, later).0, 3);
}
