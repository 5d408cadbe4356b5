//! The rules of SPEC §3 that are data or money (issue 23): the return shipping the
//! seller reimburses (actual carrier cost with its receipt, up to the platform's cap,
//! plus packaging by damage degree; a free-shipping order and a quality exchange too),
//! the refund-only list as platform policy an admin changes, and a lost purchase voucher
//! replaced by the platform's own records.

use crate::harness::{Suite, order, request, rid, rule};
use aftersales_proto::aftersales::{
    common::v1::{EvidenceRef, Money},
    refunds::v1::{RefundKind, RefundState},
    returns::v1::{
        GetPlatformPolicyRequest, InspectReturnRequest, InspectionResult, PackagingDamage,
        PlatformPolicy, RefundOnlyCase, RefundOnlyCondition, Return, ReturnKind, ReturnReason,
        ReturnState, SubmitReturnShipmentRequest, UpdatePlatformPolicyRequest,
    },
};
use kit::auth::Role;
use testkit::{authed, eventually};
use tonic::Code;
use tonic_types::StatusExt;

fn cny(minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: "CNY".into(),
    })
}

fn receipt() -> Option<EvidenceRef> {
    Some(EvidenceRef {
        uri: "https://evidence.example/sf-receipt.jpg".into(),
        kind: 1,
        ..Default::default()
    })
}

fn shipment(name: &str, tracking: &str, cost: i64) -> SubmitReturnShipmentRequest {
    SubmitReturnShipmentRequest {
        name: name.into(),
        carrier_code: "sf".into(),
        tracking_number: tracking.into(),
        shipping_cost: cny(cost),
        shipping_receipt: receipt(),
        packaging_damage: PackagingDamage::Major as i32,
        request_id: rid(),
        ..Default::default()
    }
}

/// Approves, ships back `tracking` at `cost` with a crushed box, delivers, passes.
async fn through_inspection(s: &Suite, r: &Return, tracking: &str, cost: i64) -> Return {
    s.approve(&r.name).await.unwrap();
    s.client()
        .submit_return_shipment(authed(shipment(&r.name, tracking, cost), &s.buyer))
        .await
        .unwrap();
    s.carrier_delivers(tracking).await;
    s.until(&r.name, ReturnState::Inspecting).await;
    s.client()
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
        .into_inner()
}

#[tokio::test]
async fn the_seller_reimburses_carrier_cost_and_packaging_even_on_a_free_shipping_order() {
    let s = Suite::start(&[]).await;
    let mut free = order("free-ship", 2 * 86_400, 1, &[]);
    free.lines[0].shipping_fee_paid = cny(0);
    s.put_order(free).await;
    let r = s
        .create(
            ReturnKind::ReturnRefund,
            "free-ship",
            ReturnReason::QualityDefect,
        )
        .await
        .unwrap();
    // a cost the seller pays needs the carrier's receipt as its evidence
    s.approve(&r.name).await.unwrap();
    let mut bare = shipment(&r.name, "SF720001", 1_800);
    bare.shipping_receipt = None;
    let err = s
        .client()
        .submit_return_shipment(authed(bare, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, ["shipping_receipt"]);
    assert_eq!(
        s.get(&r.name).await.state,
        ReturnState::AwaitingReturnShipment as i32,
        "nothing changed"
    );

    s.client()
        .submit_return_shipment(authed(shipment(&r.name, "SF720001", 1_800), &s.buyer))
        .await
        .unwrap();
    s.carrier_delivers("SF720001").await;
    let delivered = s.until(&r.name, ReturnState::Inspecting).await;
    let stated = delivered.shipping_fee.unwrap();
    assert_eq!(
        (
            stated.packaging_damage,
            stated.packaging_fee.unwrap().amount_minor
        ),
        (PackagingDamage::Major as i32, 800),
        "the buyer's statement: a new box"
    );
    // the merchant, parcel in hand, finds the box only dented: its finding decides
    s.client()
        .inspect_return(authed(
            InspectReturnRequest {
                name: r.name.clone(),
                result: InspectionResult::Passed as i32,
                request_id: rid(),
                packaging_damage: PackagingDamage::Minor as i32,
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap();
    let done = s.until(&r.name, ReturnState::Completed).await;
    let fee = done.shipping_fee.unwrap();
    assert_eq!(
        (
            fee.carrier_cost.unwrap().amount_minor,
            fee.packaging_fee.unwrap().amount_minor,
            fee.amount.unwrap().amount_minor,
        ),
        (1_800, 300, 2_100),
        "the actual cost (the order's own shipping fee was 0) plus minor packaging"
    );
    assert_eq!(fee.packaging_damage, PackagingDamage::Minor as i32);
    assert!(fee.shipping_receipt.is_some());
    eventually(std::time::Duration::from_secs(20), || async {
        s.refunds_of(&r.name).await.iter().any(|x| {
            x.kind == RefundKind::ReturnShipping as i32
                && x.amount.as_ref().unwrap().amount_minor == 2_100
                && x.state == RefundState::Settled as i32
        })
    })
    .await;
}

#[tokio::test]
async fn a_quality_exchange_reimburses_the_return_shipping_and_a_no_reason_one_does_not() {
    let s = Suite::start(&[]).await;
    s.put_order(order("swap-1", 2 * 86_400, 2, &[])).await;
    let quality = s
        .create(ReturnKind::Exchange, "swap-1", ReturnReason::WrongSize)
        .await
        .unwrap();
    let passed = through_inspection(&s, &quality, "SF730001", 900).await;
    assert_eq!(passed.state, ReturnState::AwaitingReplacement as i32);
    eventually(std::time::Duration::from_secs(20), || async {
        let refunds = s.refunds_of(&quality.name).await;
        refunds.len() == 1
            && refunds[0].kind == RefundKind::ReturnShipping as i32
            && refunds[0].amount.as_ref().unwrap().amount_minor == 900 + 800
    })
    .await;

    // a no-reason exchange: the buyer pays its shipping (this shop's policy), nothing back
    let mut c = s.client();
    let mut no_reason = request(ReturnKind::Exchange, "swap-1", ReturnReason::NoReason);
    no_reason.description.clear();
    let r = c
        .create_return(authed(no_reason, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    let passed = through_inspection(&s, &r, "SF730002", 900).await;
    assert_eq!(passed.shipping_fee.unwrap().amount.unwrap().amount_minor, 0);
    // a refund is asked in the transition's own transaction (an outbox command), so the
    // answer to the inspection already shows whether one was: the quality exchange's is
    // there, this one's is not
    let asked = |case: &str| {
        format!(
            "SELECT count(*) FROM {{s}}.outbox WHERE kind = 'command' AND key LIKE '{case}:refund:%'"
        )
    };
    assert_eq!(s.scalar(&asked(&quality.name)).await, 1);
    assert_eq!(s.scalar(&asked(&r.name)).await, 0);
}

fn low_value_policy(bound: i64) -> PlatformPolicy {
    use ReturnReason::*;
    let case = |reason: ReturnReason, condition: RefundOnlyCondition| RefundOnlyCase {
        reason: reason as i32,
        condition: condition as i32,
        max_line_amount: None,
    };
    PlatformPolicy {
        name: "platform/returnsPolicy".into(),
        refund_only_cases: vec![
            case(NotReceived, RefundOnlyCondition::ShippedNotSignedFor),
            RefundOnlyCase {
                max_line_amount: cny(bound),
                ..case(
                    ReceivedBrokenLowValue,
                    RefundOnlyCondition::EvidenceAndLowValue,
                )
            },
        ],
        return_shipping_cap: cny(3_000),
        packaging_fees: Vec::new(),
        update_time: None,
    }
}

#[tokio::test]
async fn the_refund_only_list_is_platform_data_an_admin_changes() {
    let s = Suite::start(&[]).await;
    let admin = s.world.token(Role::Admin, "ops-1");
    let read = |token: String| {
        let mut c = s.client();
        async move {
            c.get_platform_policy(authed(
                GetPlatformPolicyRequest {
                    name: "platform/returnsPolicy".into(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    let defaults = read(s.buyer.clone()).await;
    assert_eq!(defaults.refund_only_cases.len(), 8, "SPEC §3's list");
    assert_eq!(defaults.update_time, None);
    let low = defaults
        .refund_only_cases
        .iter()
        .find(|c| c.reason == ReturnReason::ReceivedBrokenLowValue as i32)
        .unwrap();
    assert_eq!(low.max_line_amount.as_ref().unwrap().amount_minor, 5_000);

    // CNY 60 for one unit: above the default bound of CNY 50
    let mut cheap = order("cheap-1", 2 * 86_400, 1, &[]);
    cheap.lines[0].paid_amount = cny(6_000);
    s.put_order(cheap).await;
    let broken = || {
        request(
            ReturnKind::RefundOnly,
            "cheap-1",
            ReturnReason::ReceivedBrokenLowValue,
        )
    };
    let err = s
        .client()
        .create_return(authed(broken(), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), rule(&err)),
        (Code::FailedPrecondition, "REFUND_ONLY_FACTS_NOT_MET".into())
    );

    let update = |policy: PlatformPolicy, token: &str| {
        let mut c = s.client();
        let req = authed(
            UpdatePlatformPolicyRequest {
                policy: Some(policy),
                request_id: rid(),
            },
            token,
        );
        async move { c.update_platform_policy(req).await }
    };
    let err = update(low_value_policy(8_000), &s.merchant)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "only admins change it");
    let mut bad = low_value_policy(0);
    bad.refund_only_cases.push(RefundOnlyCase {
        reason: ReturnReason::NoReason as i32,
        condition: RefundOnlyCondition::EvidenceWithinReasonableUse as i32,
        max_line_amount: None,
    });
    let err = update(bad, &admin).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(
        fields,
        [
            "policy.refund_only_cases[1].max_line_amount",
            "policy.refund_only_cases[2].reason"
        ]
    );
    assert_eq!(read(s.buyer.clone()).await, defaults, "nothing changed");

    // CNY 80 as the bound, and the list cut to two cases
    let changed = update(low_value_policy(8_000), &admin)
        .await
        .unwrap()
        .into_inner();
    assert!(changed.update_time.is_some());
    assert_eq!(read(s.agent.clone()).await, changed);
    let admitted = s
        .client()
        .create_return(authed(broken(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        admitted.eligibility_rule,
        "refund_only:received_broken_low_value"
    );
    let err = s
        .client()
        .create_return(authed(
            request(ReturnKind::RefundOnly, "demo-1", ReturnReason::Counterfeit),
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(rule(&err), "REFUND_ONLY_REASON_NOT_LISTED");
    // every version is kept with who made it: the policy's audit trail
    assert_eq!(
        s.scalar(
            "SELECT count(*) FROM {s}.platform_policy
             WHERE actor_role = 'admin' AND actor_id = 'ops-1'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_lost_voucher_is_replaced_by_the_platforms_own_records() {
    let s = Suite::start(&[]).await;
    let mut lost = request(
        ReturnKind::ReturnRefund,
        "demo-1",
        ReturnReason::QualityDefect,
    );
    lost.purchase_voucher_lost = true;
    let r = s
        .client()
        .create_return(authed(lost, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    let check = r.voucher_check.expect("recorded on the request");
    assert_eq!(
        check.verified_by,
        ["order", "payment_record", "logistics_record"]
    );
    assert!(check.verify_time.is_some());
    assert_eq!(
        s.get(&r.name)
            .await
            .voucher_check
            .unwrap()
            .verified_by
            .len(),
        3
    );

    // an order whose payment the platform has no record of cannot stand in for it
    let mut unpaid = order("no-pay", 2 * 86_400, 1, &[]);
    unpaid.payment_ref.clear();
    s.put_order(unpaid).await;
    let before = s.scalar("SELECT count(*) FROM {s}.returns").await;
    let mut lost = request(
        ReturnKind::ReturnRefund,
        "no-pay",
        ReturnReason::QualityDefect,
    );
    lost.purchase_voucher_lost = true;
    let err = s
        .client()
        .create_return(authed(lost, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), rule(&err)),
        (Code::FailedPrecondition, "VOUCHER_NOT_VERIFIABLE".into())
    );
    assert!(
        err.message().contains("payment_record"),
        "{}",
        err.message()
    );
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.returns").await, before);
    // without the claim of a lost voucher the same order files as before
    s.create(
        ReturnKind::ReturnRefund,
        "no-pay",
        ReturnReason::QualityDefect,
    )
    .await
    .unwrap();
}
