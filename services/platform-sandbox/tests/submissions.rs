//! `ListPayouts.submit_calls` counts the SubmitPayout calls of the payouts its filter
//! selects, every one of them (issue 23): by payout id or by refund, outages and
//! replays included, and no call of another refund.

use aftersales_proto::aftersales::{
    common::v1::Money,
    platform::v1::{
        ListPayoutsRequest, PaymentBehaviour, SetPaymentBehaviourRequest, SubmitPayoutRequest,
        payment_gateway_client::PaymentGatewayClient, sandbox_control_client::SandboxControlClient,
    },
};
use kit::auth::Role;
use testkit::authed;
use tonic::Code;

use crate::harness;

fn payout(id: &str, refund: &str) -> SubmitPayoutRequest {
    SubmitPayoutRequest {
        payout_id: id.into(),
        refund: refund.into(),
        amount: Some(Money {
            amount_minor: 100,
            currency: "CNY".into(),
        }),
        original_payment_ref: "pay-1".into(),
    }
}

#[tokio::test]
async fn submit_calls_count_every_submission_of_the_selected_payouts() {
    let (world, svc) = harness::start().await;
    let token = world.token(Role::Service, "refunds");
    let mut control = SandboxControlClient::new(svc.channel());
    let mut gw = PaymentGatewayClient::new(svc.channel());
    // refunds/a: one outage (no payout stored), then paid, then replayed twice.
    control
        .set_payment_behaviour(authed(
            SetPaymentBehaviourRequest {
                behaviour: Some(PaymentBehaviour {
                    fail_next: 1,
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap();
    let err = gw
        .submit_payout(authed(payout("rf-a-1", "refunds/a"), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    for _ in 0..3 {
        gw.submit_payout(authed(payout("rf-a-1", "refunds/a"), &token))
            .await
            .unwrap();
    }
    // refunds/b: an outage on its first series, then paid under its second id.
    control
        .set_payment_behaviour(authed(
            SetPaymentBehaviourRequest {
                behaviour: Some(PaymentBehaviour {
                    fail_next: 1,
                    ..Default::default()
                }),
            },
            &token,
        ))
        .await
        .unwrap();
    gw.submit_payout(authed(payout("rf-b-1", "refunds/b"), &token))
        .await
        .unwrap_err();
    gw.submit_payout(authed(payout("rf-b-2", "refunds/b"), &token))
        .await
        .unwrap();

    let list = |payout_id: &str, refund: &str| {
        let mut control = control.clone();
        let req = authed(
            ListPayoutsRequest {
                page_size: 100,
                payout_id: payout_id.into(),
                refund: refund.into(),
                ..Default::default()
            },
            &token,
        );
        async move { control.list_payouts(req).await.unwrap().into_inner() }
    };
    let all = list("", "").await;
    assert_eq!((all.payouts.len(), all.submit_calls), (2, 6), "every call");
    let a = list("", "refunds/a").await;
    assert_eq!(
        (a.payouts.len(), a.submit_calls),
        (1, 4),
        "a refund's calls only: its outage and its replays, none of refunds/b's"
    );
    let b = list("", "refunds/b").await;
    assert_eq!(
        (b.payouts.len(), b.submit_calls),
        (1, 2),
        "both series of refunds/b, the refused first one included"
    );
    let b1 = list("rf-b-1", "").await;
    assert_eq!(
        (b1.payouts.len(), b1.submit_calls),
        (0, 1),
        "a payout id the outage refused was still submitted once"
    );
    let none = list("rf-a-1", "refunds/b").await;
    assert_eq!((none.payouts.len(), none.submit_calls), (0, 0));
    svc.stop().await;
}
