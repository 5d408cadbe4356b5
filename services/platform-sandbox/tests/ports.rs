//! The sandbox behaves like the platform it stands in for: the payment gateway never pays a
//! payout id twice (under concurrency, retries and simulated outages), requests are
//! validated, and only services may call the ports.

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole, Money},
    platform::v1::{
        GetOrderRequest, ListNotificationsRequest, ListPayoutsRequest, PaymentBehaviour,
        PayoutState, SendRequest, SetPaymentBehaviourRequest, SubmitPayoutRequest,
        notifier_client::NotifierClient, order_directory_client::OrderDirectoryClient,
        payment_gateway_client::PaymentGatewayClient, sandbox_control_client::SandboxControlClient,
    },
};
use kit::auth::Role;
use testkit::authed;
use tonic::Code;

use crate::harness;

fn payout(id: &str, minor: i64) -> SubmitPayoutRequest {
    SubmitPayoutRequest {
        payout_id: id.into(),
        refund: "refunds/1".into(),
        amount: Some(Money {
            amount_minor: minor,
            currency: "CNY".into(),
        }),
        original_payment_ref: "pay-1".into(),
    }
}

#[tokio::test]
async fn a_payout_id_is_paid_once_whatever_happens() {
    let (world, svc) = harness::start().await;
    let token = world.token(Role::Service, "refunds");
    let mut control = SandboxControlClient::new(svc.channel());

    // Two simulated outages first: the caller retries through them.
    control
        .set_payment_behaviour(authed(
            SetPaymentBehaviourRequest {
                behaviour: Some(PaymentBehaviour {
                    fail_next: 2,
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap();
    let mut gw = PaymentGatewayClient::new(svc.channel());
    for _ in 0..2 {
        let err = gw
            .submit_payout(authed(payout("p-1", 500), &token))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
    }

    // Then 20 concurrent submissions of the same payout id.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut gw = PaymentGatewayClient::new(svc.channel());
        let req = authed(payout("p-1", 500), &token);
        set.spawn(async move { gw.submit_payout(req).await.unwrap().into_inner() });
    }
    while let Some(p) = set.join_next().await {
        let p = p.unwrap();
        assert_eq!(p.payout_id, "p-1");
        assert_eq!(p.state, PayoutState::Succeeded as i32);
    }
    let listed = control
        .list_payouts(authed(
            ListPayoutsRequest {
                payout_id: "p-1".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.payouts.len(), 1, "one payout for one id");
    assert_eq!(
        listed.submit_calls, 22,
        "every call was seen, only one paid"
    );
    svc.stop().await;
}

#[tokio::test]
async fn ports_validate_and_only_services_may_call_them() {
    let (world, svc) = harness::start().await;
    let service = world.token(Role::Service, "returns");
    let buyer = world.token(Role::Buyer, "buyer-1");

    let mut gw = PaymentGatewayClient::new(svc.channel());
    let err = gw
        .submit_payout(authed(payout("p-2", 500), &buyer))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "a buyer cannot pay himself"
    );

    let bad = SubmitPayoutRequest {
        amount: Some(Money {
            amount_minor: -5,
            currency: "CNY".into(),
        }),
        ..Default::default()
    };
    // Only refunds pays: another service's identity is refused before validation.
    let err = gw
        .submit_payout(authed(bad.clone(), &service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "returns does not pay");
    let refunds = world.token(Role::Service, "refunds");
    let err = gw.submit_payout(authed(bad, &refunds)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        testkit::bad_fields(&err),
        ["amount", "original_payment_ref", "payout_id"]
    );

    let mut orders = OrderDirectoryClient::new(svc.channel());
    let order = orders
        .get_order(authed(
            GetOrderRequest {
                name: "orders/demo-1".into(),
            },
            &service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(order.buyer_id, "buyer-1");
    assert!(order.signed_for_time.is_some());
    let err = orders
        .get_order(authed(
            GetOrderRequest {
                name: "orders/nope".into(),
            },
            &service,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The notifier records what it would send, once per notification id.
    let mut notifier = NotifierClient::new(svc.channel());
    let send = SendRequest {
        notification_id: "n-1".into(),
        recipient: Some(Actor {
            role: ActorRole::Buyer as i32,
            id: "buyer-1".into(),
        }),
        template: "return_approved".into(),
        ..Default::default()
    };
    notifier.send(authed(send.clone(), &service)).await.unwrap();
    notifier.send(authed(send, &service)).await.unwrap();
    let sent = SandboxControlClient::new(svc.channel())
        .list_notifications(authed(
            ListNotificationsRequest {
                recipient: Some(Actor {
                    role: 0,
                    id: "buyer-1".into(),
                }),
                ..Default::default()
            },
            &service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.notifications.len(), 1);
    assert_eq!(sent.notifications[0].template, "return_approved");
    svc.stop().await;
}
