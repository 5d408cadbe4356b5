//! A notification at every step (issue 23, SPEC §9): a whole case, party by party, as
//! the platform's Notifier (the sandbox) received them: the buyer at every change of
//! state, the merchant when it must act or its silence decided, each step once, and a
//! settled refund announced once (by refunds, not by returns as well).

use crate::{
    harness::{Suite, rid},
    observe::{BUYER, DESK, MERCHANT, find, told_exactly},
};
use aftersales_proto::aftersales::{
    common::v1::Address,
    logistics::v1::{
        GetShipmentTimelineRequest, ListShipmentsRequest,
        logistics_service_client::LogisticsServiceClient,
    },
    returns::v1::{
        MerchantPolicy, ReturnKind, ReturnReason, ReturnState, UpsertMerchantPolicyRequest,
    },
};
use kit::auth::Role;
use testkit::authed;

#[tokio::test]
async fn a_whole_return_tells_each_party_each_step_once() {
    // the merchant stays silent at review and inspection: the clocks decide for it
    let s = Suite::start(&[
        ("RETURNS_CLOCK_MERCHANT_REVIEW", "1s"),
        ("RETURNS_CLOCK_MERCHANT_INSPECTION", "1s"),
    ])
    .await;
    let policy = MerchantPolicy {
        name: "merchants/merchant-1/policy".into(),
        exchange_allowed: true,
        return_address: Some(Address {
            contact_name: "Returns desk".into(),
            phone: "0571-0000".into(),
            city: "Hangzhou".into(),
            street: "8 Depot Rd".into(),
            ..Default::default()
        }),
        carrier_options: vec!["SF".into()],
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
        .create(
            ReturnKind::ReturnRefund,
            "demo-1",
            ReturnReason::QualityDefect,
        )
        .await
        .unwrap();
    let approved = s.until(&r.name, ReturnState::AwaitingReturnShipment).await;
    assert_eq!(approved.approval.unwrap().carrier_options, ["sf"]);
    s.ship_back(&r.name, "SF700001").await;
    s.carrier_delivers("SF700001").await;
    s.until(&r.name, ReturnState::Completed).await;

    let buyer = told_exactly(
        &s,
        BUYER,
        &[
            "return_requested",
            "return_approved",
            "return_shipment_registered",
            "return_delivered",
            "inspection_passed",
            // refunds tells the buyer of each refund (goods, seller-paid shipping) and
            // of its settlement: the request's completion is not announced again
            "refund_requested",
            "refund_requested",
            "refund_settled",
            "refund_settled",
        ],
    )
    .await;
    // the approval, automatic as it was, told the buyer where, how and by when
    let approval = &find(&buyer, "return_approved").params;
    assert!(
        approval["return_address"].contains("Hangzhou"),
        "{approval:?}"
    );
    assert_eq!(approval["return_contact"], "Returns desk 0571-0000");
    assert_eq!(approval["carrier_options"], "sf");
    assert_eq!(approval["auto_approved"], "true");
    assert_eq!(approval["refund_within_working_days"], "7");
    assert_eq!(approval["clock"], "buyer_return_shipment");
    assert!(!approval["due_time"].is_empty());

    let merchant = told_exactly(
        &s,
        MERCHANT,
        &[
            "return_to_review",
            // its silence decided, twice: it hears of both
            "return_auto_approved",
            "return_shipped",
            "return_to_inspect",
            "inspection_auto_passed",
            "return_completed",
        ],
    )
    .await;
    assert!(
        !find(&merchant, "return_to_review").params["due_time"].is_empty(),
        "the merchant is told by when it must act"
    );
    assert!(
        merchant
            .iter()
            .all(|n| !n.params.contains_key("return_contact")),
        "the buyer's notices' contents stay the buyer's"
    );
    told_exactly(&s, DESK, &[]).await;
}

#[tokio::test]
async fn an_auto_approval_without_a_return_address_waits_for_one() {
    let s = Suite::start(&[
        ("RETURNS_CLOCK_MERCHANT_REVIEW", "1s"),
        ("RETURNS_CLOCK_RETURN_ADDRESS", "1s"),
    ])
    .await;
    // no policy published: the platform defaults have no return address
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let waiting = s.until(&r.name, ReturnState::AwaitingReturnShipment).await;
    assert!(waiting.approval.as_ref().unwrap().return_address.is_none());
    assert_eq!(waiting.clock.as_ref().unwrap().kind, "return_address");
    // the buyer cannot ship to nowhere, and loses no time meanwhile
    let err = s
        .client()
        .submit_return_shipment(authed(
            aftersales_proto::aftersales::returns::v1::SubmitReturnShipmentRequest {
                name: r.name.clone(),
                carrier_code: "sf".into(),
                tracking_number: "SF700002".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    // the merchant's 24 h (1 s here) run out: the desk is told again
    told_exactly(
        &s,
        DESK,
        &["return_address_required", "return_address_overdue"],
    )
    .await;
    let r = s.get(&r.name).await;
    assert_eq!(
        r.clock.as_ref().unwrap().waiting_on,
        aftersales_proto::aftersales::common::v1::ActorRole::Agent as i32,
        "the desk is the one to act"
    );
    // an agent of the desk gives the address: the buyer's ship-back clock starts now
    let given = s
        .client()
        .approve_return(authed(
            aftersales_proto::aftersales::returns::v1::ApproveReturnRequest {
                name: r.name.clone(),
                return_address: Some(Address {
                    city: "Suzhou".into(),
                    ..Default::default()
                }),
                request_id: rid(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(given.clock.unwrap().kind, "buyer_return_shipment");
    let buyer = told_exactly(
        &s,
        BUYER,
        &[
            "return_requested",
            "return_approved_address_pending",
            "return_address_provided",
        ],
    )
    .await;
    assert!(find(&buyer, "return_address_provided").params["return_address"].contains("Suzhou"));
    told_exactly(
        &s,
        MERCHANT,
        &[
            "return_to_review",
            "return_auto_approved",
            "return_address_required",
            "return_address_overdue",
        ],
    )
    .await;
}

/// Logistics knows a return's buyer and merchant from its registration (issue 23): both
/// read the parcel's timeline themselves; another buyer finds nothing of it.
#[tokio::test]
async fn the_cases_buyer_and_merchant_track_its_return_parcel() {
    let s = Suite::start(&[]).await;
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    s.ship_back(&r.name, "SF710001").await;
    s.carrier_delivers("SF710001").await;
    let logistics = || LogisticsServiceClient::new(s.logistics.channel());
    let by_case = || GetShipmentTimelineRequest {
        case_name: r.name.clone(),
        ..Default::default()
    };
    for token in [&s.buyer, &s.merchant] {
        let seen = logistics()
            .get_shipment_timeline(authed(by_case(), token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(seen.timelines.len(), 1, "the return parcel");
        let t = &seen.timelines[0];
        assert_eq!(t.shipment.as_ref().unwrap().tracking_number, "SF710001");
        assert!(!t.events.is_empty(), "with the carrier's delivery");
        let listed = logistics()
            .list_shipments(authed(
                ListShipmentsRequest {
                    case_name: r.name.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.shipments.len(), 1);
    }
    let stranger = s.world.token(Role::Buyer, "buyer-2");
    let theirs = logistics()
        .get_shipment_timeline(authed(by_case(), &stranger))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.timelines.is_empty(), "another buyer sees none of it");
}
