//! No case waits forever (issue 23, SPEC §9): a parcel the carrier loses on either leg,
//! and a refund the payment gateway declines, through the real services.

use std::time::Duration;

use crate::{
    harness::{Suite, rid},
    observe::{BUYER, DESK, MERCHANT, carrier_reports, find, told_exactly},
};
use aftersales_proto::aftersales::{
    common::v1::ActorRole,
    platform::v1::{
        PaymentBehaviour, PaymentFailureMode, SetPaymentBehaviourRequest,
        sandbox_control_client::SandboxControlClient,
    },
    refunds::v1::{RefundKind, RetryRefundRequest, refunds_service_client::RefundsServiceClient},
    returns::v1::{
        InspectReturnRequest, ReturnKind, ReturnReason, ReturnState, ShipReplacementRequest,
        parcel_problem::Cause,
    },
};
use kit::auth::Role;
use testkit::{authed, eventually};

/// CarrierEventStatus EXCEPTION.
const EXCEPTION: i32 = 5;

#[tokio::test]
async fn a_return_parcel_the_carrier_loses_is_the_sellers_risk() {
    // the transit clock (promise + 72 h) shortened to 6 s
    let s = Suite::start(&[("RETURNS_CLOCK_RETURN_TRANSIT", "6s")]).await;
    let r = s
        .create(
            ReturnKind::ReturnRefund,
            "demo-1",
            ReturnReason::QualityDefect,
        )
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    let shipped = s.ship_back(&r.name, "SF600001").await;
    assert_eq!(
        shipped.clock.as_ref().unwrap().kind,
        "return_transit",
        "a parcel in transit runs a clock"
    );
    carrier_reports(
        &s,
        "SF600001",
        EXCEPTION,
        "parcel lost at the sorting centre",
    )
    .await;
    // an exception is not final (the parcel may still turn up): told, and it waits on
    // its transit clock
    let troubled = s.until(&r.name, ReturnState::ReturnInTransit).await;
    eventually(Duration::from_secs(10), || async {
        s.get(&r.name)
            .await
            .return_parcel
            .and_then(|p| p.problem)
            .is_some_and(|p| p.outcome == "awaiting_carrier")
    })
    .await;
    assert_eq!(troubled.clock.unwrap().kind, "return_transit");
    // the carrier had it (it reported it): at the deadline the seller bears the risk and
    // the buyer is refunded as if the goods had arrived and passed
    let done = s.until(&r.name, ReturnState::Completed).await;
    let parcel = done.return_parcel.unwrap();
    let problem = parcel.problem.unwrap();
    assert_eq!(problem.cause, Cause::TransitExpired as i32);
    assert_eq!(problem.outcome, "seller_bears_risk");
    assert!(
        problem
            .detail
            .ends_with("the carrier reported: parcel lost at the sorting centre"),
        "{}",
        problem.detail
    );
    assert!(parcel.carrier_seen_time.is_some(), "the proof of shipment");
    assert!(done.inspection.is_none(), "nobody inspected anything");
    let goods = s
        .refunds_of(&r.name)
        .await
        .into_iter()
        .find(|x| x.kind == RefundKind::Goods as i32)
        .expect("the goods are refunded");
    assert_eq!(goods.amount.unwrap().amount_minor, 19_900);
    // both sides are told
    let buyer = told_exactly(
        &s,
        BUYER,
        &[
            "return_requested",
            "return_approved",
            "return_shipment_registered",
            "return_parcel_exception",
            "return_parcel_lost",
            "refund_requested",
            "refund_requested",
            "refund_settled",
            "refund_settled",
        ],
    )
    .await;
    assert_eq!(
        find(&buyer, "return_parcel_lost").params["parcel_outcome"],
        "seller_bears_risk"
    );
    told_exactly(
        &s,
        MERCHANT,
        &[
            "return_to_review",
            "return_shipped",
            "return_parcel_exception",
            "return_parcel_lost",
            "return_completed",
        ],
    )
    .await;
    told_exactly(&s, DESK, &["return_parcel_exception"]).await;
}

#[tokio::test]
async fn a_replacement_not_delivered_in_time_is_refunded_as_not_received() {
    let s = Suite::start(&[("RETURNS_CLOCK_REPLACEMENT_TRANSIT", "2s")]).await;
    let r = s
        .create(ReturnKind::Exchange, "demo-2", ReturnReason::QualityDefect)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    s.ship_back(&r.name, "SF600002").await;
    s.carrier_delivers("SF600002").await;
    s.until(&r.name, ReturnState::Inspecting).await;
    let mut c = s.client();
    c.inspect_return(authed(
        InspectReturnRequest {
            name: r.name.clone(),
            result: 1,
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    let promised = chrono::Utc::now() + chrono::Duration::days(2);
    let shipped = c
        .ship_replacement(authed(
            ShipReplacementRequest {
                name: r.name.clone(),
                carrier_code: "sf".into(),
                tracking_number: "SF600003".into(),
                request_id: rid(),
                promised_delivery_time: Some(kit::time::ts(promised)),
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shipped.clock.as_ref().unwrap().kind, "replacement_transit");
    assert_eq!(
        shipped
            .replacement_parcel
            .as_ref()
            .unwrap()
            .promised_delivery_time
            .as_ref()
            .unwrap()
            .seconds,
        promised.timestamp()
    );
    // nothing more from the carrier: the transit clock (2 s here) runs out and the buyer,
    // who never received the replacement, is refunded
    let done = s.until(&r.name, ReturnState::Completed).await;
    let problem = done.replacement_parcel.unwrap().problem.unwrap();
    assert_eq!(problem.cause, Cause::TransitExpired as i32);
    assert_eq!(problem.outcome, "refund_not_received");
    let refunds = s.refunds_of(&r.name).await;
    let goods = refunds
        .iter()
        .find(|x| x.kind == RefundKind::Goods as i32)
        .expect("the goods are refunded");
    assert_eq!(goods.amount.as_ref().unwrap().amount_minor, 299_900);
    assert!(
        refunds
            .iter()
            .filter(|x| x.kind == RefundKind::ReturnShipping as i32)
            .count()
            == 1,
        "the seller-paid return shipping too, once (asked at the inspection of the exchange)"
    );
    told_exactly(
        &s,
        BUYER,
        &[
            "return_requested",
            "return_approved",
            "return_shipment_registered",
            "return_delivered",
            "inspection_passed",
            "replacement_shipped",
            "replacement_lost",
            "refund_requested",
            "refund_requested",
            "refund_settled",
            "refund_settled",
        ],
    )
    .await;
    told_exactly(
        &s,
        MERCHANT,
        &[
            "return_to_review",
            "return_shipped",
            "return_to_inspect",
            "ship_replacement",
            "replacement_lost",
            "return_completed",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_declined_refund_is_shown_escalated_and_costs_the_merchant_no_penalty() {
    let s = Suite::start(&[("RETURNS_CLOCK_REFUND_OR_REPLACEMENT", "4s")]).await;
    // the gateway declines the next payout
    SandboxControlClient::new(s.sandbox.channel())
        .set_payment_behaviour(authed(
            SetPaymentBehaviourRequest {
                behaviour: Some(PaymentBehaviour {
                    fail_next: 1,
                    failure_mode: PaymentFailureMode::Decline as i32,
                    ..Default::default()
                }),
            },
            &s.world.token(Role::Service, "refunds"),
        ))
        .await
        .unwrap();
    // refund-only, one refund: the goods
    let r = s
        .create(
            ReturnKind::RefundOnly,
            "demo-4",
            ReturnReason::NotShippedInTime,
        )
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    eventually(Duration::from_secs(20), || async {
        !s.get(&r.name).await.refund_problems.is_empty()
    })
    .await;
    let shown = s.get(&r.name).await;
    let problem = &shown.refund_problems[0];
    assert_eq!(problem.kind, "failed");
    assert_eq!(
        problem.reason, "the payment gateway declined the payout",
        "not the gateway's own text: merchants read this"
    );
    assert!(problem.resolve_time.is_none());
    let due = shown.clock.as_ref().unwrap().due_time.unwrap();
    assert!(
        problem.report_time.as_ref().unwrap().seconds <= due.seconds,
        "the decline came before the refund was due (test timing)"
    );
    // the 7-working-day clock (4 s here) runs out while the gateway's problem lasts:
    // escalated, but the penalty does not accrue for the gateway's delay
    let desk = told_exactly(&s, DESK, &["refund_failed", "return_overdue"]).await;
    assert_eq!(
        find(&desk, "refund_failed").params["refund"],
        problem.refund,
        "the desk is told which refund"
    );
    let late = s.get(&r.name).await;
    assert_eq!(late.state, ReturnState::Refunding as i32);
    assert_eq!(
        late.clock.as_ref().unwrap().waiting_on,
        ActorRole::Agent as i32
    );
    assert_eq!(late.penalty_accrued.as_ref().unwrap().amount_minor, 0);
    // an agent retries the refund; it settles and the request completes, penalty-free
    RefundsServiceClient::new(s.refunds.channel())
        .retry_refund(authed(
            RetryRefundRequest {
                name: problem.refund.clone(),
                request_id: rid(),
            },
            &s.agent,
        ))
        .await
        .unwrap();
    let done = s.until(&r.name, ReturnState::Completed).await;
    assert_eq!(done.late_days, 0);
    assert_eq!(done.penalty_accrued.unwrap().amount_minor, 0);
    assert!(done.refund_problems[0].resolve_time.is_some());
    assert!(
        !s.refunds_of(&r.name)
            .await
            .iter()
            .any(|x| x.kind == RefundKind::LatePenalty as i32),
        "no late penalty for the gateway's failure"
    );
    told_exactly(&s, DESK, &["refund_failed", "return_overdue"]).await;
    told_exactly(
        &s,
        MERCHANT,
        &["return_to_review", "return_overdue", "return_completed"],
    )
    .await;
}
