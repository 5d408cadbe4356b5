//! Every clock's expiry action (issue 5), driven by the real SLA service with
//! second-long clocks (RETURNS_CLOCK_* overrides), never by calling a handler.

use crate::harness::{Suite, rid};
use aftersales_proto::aftersales::{
    common::v1::Address,
    refunds::v1::RefundKind,
    returns::v1::{
        InspectReturnRequest, MerchantPolicy, RejectReturnRequest, ReturnKind, ReturnReason,
        ReturnState, ShipReplacementRequest, UpsertMerchantPolicyRequest,
    },
};
use testkit::authed;

#[tokio::test]
async fn merchant_silence_is_consent_and_a_buyer_who_does_not_ship_forfeits() {
    let s = Suite::start(&[
        ("RETURNS_CLOCK_MERCHANT_REVIEW", "1s"),
        ("RETURNS_CLOCK_BUYER_RETURN_SHIPMENT", "2s"),
    ])
    .await;
    // the merchant published a default return address: auto-approval tells the buyer
    let policy = MerchantPolicy {
        name: "merchants/merchant-1/policy".into(),
        exchange_allowed: true,
        return_address: Some(Address {
            city: "Hangzhou".into(),
            street: "8 Depot Rd".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    s.client()
        .upsert_merchant_policy(authed(
            UpsertMerchantPolicyRequest {
                policy: Some(policy),
                request_id: rid(),
            },
            &s.merchant,
        ))
        .await
        .unwrap();
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let approved = s.until(&r.name, ReturnState::AwaitingReturnShipment).await;
    let approval = approved.approval.unwrap();
    assert!(
        approval.auto_approved,
        "auto-approved by the merchant_review expiry"
    );
    assert_eq!(
        approval.return_address.unwrap().city,
        "Hangzhou",
        "the policy's address is told"
    );
    let closed = s.until(&r.name, ReturnState::ClosedForfeited).await;
    assert!(closed.close_time.is_some());
    assert!(
        s.refunds_of(&r.name).await.is_empty(),
        "buyer-caused: nothing paid"
    );
    // the units are free again: both units can be requested now
    let mut two =
        crate::harness::request(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason);
    two.quantity = 2;
    s.client()
        .create_return(authed(two, &s.buyer))
        .await
        .expect("units released");
}

#[tokio::test]
async fn an_uninspected_return_passes_and_is_refunded() {
    let s = Suite::start(&[("RETURNS_CLOCK_MERCHANT_INSPECTION", "1s")]).await;
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    s.ship_back(&r.name, "SF800001").await;
    s.carrier_delivers("SF800001").await;
    let done = s.until(&r.name, ReturnState::Completed).await;
    assert!(done.inspection.unwrap().auto_passed);
    // no-reason: the buyer pays the shipping (demo orders carry shipping insurance, so it pays)
    assert_eq!(
        done.shipping_fee.unwrap().basis,
        "no_reason_shipping_insurance"
    );
}

#[tokio::test]
async fn a_late_replacement_accrues_the_penalty_and_reports_it_to_refunds() {
    let s = Suite::start(&[
        ("RETURNS_CLOCK_REFUND_OR_REPLACEMENT", "1s"),
        ("RETURNS_CLOCK_REPLACEMENT_CONFIRMATION", "1s"),
    ])
    .await;
    let r = s
        .create(ReturnKind::Exchange, "demo-2", ReturnReason::QualityDefect)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    s.ship_back(&r.name, "SF800002").await;
    s.carrier_delivers("SF800002").await;
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
    // the 7-working-day clock (1 s here) runs out: the penalty accrues from then
    testkit::eventually(std::time::Duration::from_secs(15), || async {
        s.get(&r.name).await.late_days >= 1
    })
    .await;
    let late = s.get(&r.name).await;
    assert_eq!(
        late.state,
        ReturnState::AwaitingReplacement as i32,
        "still the merchant's move"
    );
    assert_eq!(
        late.penalty_accrued.unwrap().amount_minor,
        1_500,
        "0.5 % of 2999.00 for 1 started day: 14.995 rounds to 15.00"
    );
    c.ship_replacement(authed(
        ShipReplacementRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF800003".into(),
            request_id: rid(),
            promised_delivery_time: None,
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    let penalty_of = || async {
        s.refunds_of(&r.name)
            .await
            .into_iter()
            .find(|x| x.kind == RefundKind::LatePenalty as i32)
    };
    testkit::eventually(std::time::Duration::from_secs(15), || async {
        penalty_of().await.is_some()
    })
    .await;
    let penalty = penalty_of().await.unwrap();
    assert_eq!(penalty.amount.unwrap().amount_minor, 1_500);
    // and the buyer who never confirms has it confirmed for him
    s.carrier_delivers("SF800003").await;
    let done = s.until(&r.name, ReturnState::Completed).await;
    assert_eq!(done.late_days, 1);
}

#[tokio::test]
async fn a_rejection_not_appealed_in_time_closes() {
    let s = Suite::start(&[("RETURNS_CLOCK_REJECT_APPEAL", "1s")]).await;
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let rejected = s
        .client()
        .reject_return(authed(
            RejectReturnRequest {
                name: r.name.clone(),
                reason: "item shows wear".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(rejected.rejection.unwrap().appeal_deadline.is_some());
    let closed = s.until(&r.name, ReturnState::Closed).await;
    assert!(closed.close_time.is_some());
}
