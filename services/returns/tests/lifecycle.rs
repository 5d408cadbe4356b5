//! A request of each kind end to end (issue 5): returns, refunds, logistics, the SLA
//! service and the sandbox, all real, talking gRPC and Redis Streams.

use crate::harness::{Suite, rid};
use aftersales_proto::aftersales::{
    common::v1::Actor,
    platform::v1::{ListNotificationsRequest, sandbox_control_client::SandboxControlClient},
    refunds::v1::{RefundKind, RefundState},
    returns::v1::{
        ConfirmReplacementRequest, InspectReturnRequest, InspectionResult, ListReturnAuditRequest,
        ReturnKind, ReturnReason, ReturnState, ShipReplacementRequest, ShippingPayer,
    },
};
use testkit::authed;

#[tokio::test]
async fn a_return_is_shipped_delivered_inspected_and_refunded() {
    let s = Suite::start(&[]).await;
    let r = s
        .create(
            ReturnKind::ReturnRefund,
            "demo-1",
            ReturnReason::QualityDefect,
        )
        .await
        .unwrap();
    assert_eq!(r.state, ReturnState::Requested as i32);
    assert_eq!(r.eligibility_rule, "quality_reasonable_use:quality_defect");
    assert_eq!(r.clock.as_ref().unwrap().kind, "merchant_review");
    let fee = r.shipping_fee.clone().unwrap();
    assert_eq!(
        (fee.payer, fee.basis.as_str()),
        (ShippingPayer::Seller as i32, "quality_problem_seller_pays")
    );

    let r = s.approve(&r.name).await.unwrap();
    assert_eq!(r.state, ReturnState::AwaitingReturnShipment as i32);
    assert_eq!(r.clock.as_ref().unwrap().kind, "buyer_return_shipment");
    let r = s.ship_back(&r.name, "SF900001").await;
    assert_eq!(r.state, ReturnState::ReturnInTransit as i32);
    assert_eq!(
        r.shipping_fee
            .as_ref()
            .unwrap()
            .amount
            .as_ref()
            .unwrap()
            .amount_minor,
        1_200,
        "the declared cost with its receipt, within the platform's cap"
    );

    // The carrier's DELIVERED event, through logistics, moves it into inspection.
    s.carrier_delivers("SF900001").await;
    let r = s.until(&r.name, ReturnState::Inspecting).await;
    assert_eq!(r.clock.as_ref().unwrap().kind, "merchant_inspection");
    assert!(r.return_parcel.as_ref().unwrap().delivered_time.is_some());
    assert!(
        r.return_parcel
            .as_ref()
            .unwrap()
            .shipment
            .starts_with("shipments/")
    );

    let inspected = s
        .client()
        .inspect_return(authed(
            InspectReturnRequest {
                name: r.name.clone(),
                result: InspectionResult::Passed as i32,
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inspected.state, ReturnState::Refunding as i32);
    let done = s.until(&r.name, ReturnState::Completed).await;
    let summary = done.refund.unwrap();
    assert_eq!(
        summary.goods_amount.unwrap().amount_minor,
        19_900,
        "1 of 2 units of 398.00"
    );
    assert!(summary.settle_time.is_some());

    // refunds has the goods refund and the seller-paid shipping, both settled
    let refunds = s.refunds_of(&r.name).await;
    let mut kinds: Vec<(i32, i64, i32)> = refunds
        .iter()
        .map(|x| (x.kind, x.amount.as_ref().unwrap().amount_minor, x.state))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds[0],
        (
            RefundKind::Goods as i32,
            19_900,
            RefundState::Settled as i32
        )
    );
    assert_eq!(
        (kinds[1].0, kinds[1].1),
        (RefundKind::ReturnShipping as i32, 1_200),
        "the declared cost, within the platform's cap"
    );

    // the audit trail, readable by the buyer, tells the whole story
    let audit = s
        .client()
        .list_return_audit(authed(
            ListReturnAuditRequest {
                parent: r.name.clone(),
                page_size: 100,
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        &actions[..5],
        [
            "create",
            "approve",
            "submit_shipment",
            "return_delivered",
            "inspect"
        ]
    );
    assert_eq!(audit.last().unwrap().to_state, "COMPLETED");
    assert_eq!(audit[1].actor.as_ref().unwrap().id, "merchant-1");

    // the buyer was told at each step
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        let n = SandboxControlClient::new(s.sandbox.channel())
            .list_notifications(authed(
                ListNotificationsRequest {
                    page_size: 100,
                    recipient: Some(Actor {
                        role: 1,
                        id: "buyer-1".into(),
                    }),
                    ..Default::default()
                },
                &s.world.token(kit::auth::Role::Service, "returns"),
            ))
            .await;
        n.is_ok_and(|n| {
            let t: Vec<String> = n
                .into_inner()
                .notifications
                .into_iter()
                .map(|n| n.template)
                .collect();
            [
                "return_requested",
                "return_approved",
                "return_delivered",
                "refund_settled",
            ]
            .iter()
            .all(|x| t.iter().any(|y| y == x))
        })
    })
    .await;
}

#[tokio::test]
async fn an_exchange_ships_a_replacement_that_the_buyer_confirms() {
    let s = Suite::start(&[]).await;
    // demo-2 was signed for 10 days ago: only a quality reason still applies
    let err = s
        .create(ReturnKind::Exchange, "demo-2", ReturnReason::NoReason)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let r = s
        .create(ReturnKind::Exchange, "demo-2", ReturnReason::WrongSize)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    s.ship_back(&r.name, "SF900002").await;
    s.carrier_delivers("SF900002").await;
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
    let r = s.get(&r.name).await;
    assert_eq!(r.state, ReturnState::AwaitingReplacement as i32);
    assert_eq!(r.clock.as_ref().unwrap().kind, "refund_or_replacement");
    let r = c
        .ship_replacement(authed(
            ShipReplacementRequest {
                name: r.name.clone(),
                carrier_code: "sf".into(),
                tracking_number: "SF900003".into(),
                request_id: rid(),
                promised_delivery_time: None,
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.state, ReturnState::ReplacementInTransit as i32);
    s.carrier_delivers("SF900003").await;
    let r = s
        .until(&r.name, ReturnState::AwaitingBuyerConfirmation)
        .await;
    assert_eq!(r.clock.as_ref().unwrap().kind, "replacement_confirmation");
    let done = c
        .confirm_replacement(authed(
            ConfirmReplacementRequest {
                name: r.name.clone(),
                request_id: rid(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.state, ReturnState::Completed as i32);
    let refunds = s.refunds_of(&r.name).await;
    assert_eq!(
        refunds.iter().map(|x| x.kind).collect::<Vec<_>>(),
        [RefundKind::ReturnShipping as i32],
        "an exchange refunds no goods, only the return shipping of a quality problem"
    );
}

#[tokio::test]
async fn a_refund_only_request_is_refunded_without_goods_going_back() {
    let s = Suite::start(&[]).await;
    // demo-4 was never shipped, though promised 2 days ago
    let err = s
        .create(ReturnKind::RefundOnly, "demo-4", ReturnReason::NotReceived)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::FailedPrecondition,
        "not received needs a shipped parcel"
    );
    let r = s
        .create(
            ReturnKind::RefundOnly,
            "demo-4",
            ReturnReason::NotShippedInTime,
        )
        .await
        .unwrap();
    assert_eq!(r.eligibility_rule, "refund_only:not_shipped_in_time");
    let r = s.approve(&r.name).await.unwrap();
    assert_eq!(r.state, ReturnState::Refunding as i32);
    let done = s.until(&r.name, ReturnState::Completed).await;
    assert_eq!(
        done.refund.unwrap().settled_amount.unwrap().amount_minor,
        4_900
    );
    let refunds = s.refunds_of(&r.name).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].kind, RefundKind::Goods as i32);
}
