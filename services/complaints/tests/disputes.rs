//! A return's dispute, end to end: the merchant fails the returned goods, a ticket
//! appears by itself, an arbitrator rules for the buyer, returns moves the request on
//! and refunds pays the goods exactly once, even when the ruling call and the
//! `RulingIssued` event are delivered twice.

use std::time::Duration;

use crate::harness::{Suite, rid};
use aftersales_proto::aftersales::{
    common::v1::{Address, EvidenceRef},
    complaints::v1::{
        ClaimComplaintRequest, ComplaintOrigin, ComplaintState, IssueRulingRequest, Liability,
        ListComplaintsRequest, RulingOutcome,
    },
    logistics::v1::{ReportCarrierEventRequest, logistics_service_client::LogisticsServiceClient},
    platform::v1::{ListPayoutsRequest, sandbox_control_client::SandboxControlClient},
    refunds::v1::{
        ListRefundsRequest, RefundKind, RefundState, refunds_service_client::RefundsServiceClient,
    },
    returns::v1::{
        ApproveReturnRequest, CreateReturnRequest, GetReturnRequest, InspectReturnRequest,
        InspectionResult, ReturnKind, ReturnReason, ReturnState, SubmitReturnShipmentRequest,
        returns_service_client::ReturnsServiceClient,
    },
};
use prost::Message;
use testkit::{authed, eventually};

/// A quality return of demo-1, shipped back, delivered and failed at inspection.
async fn failed_inspection(s: &Suite) -> String {
    let mut r = ReturnsServiceClient::new(s.returns.channel());
    let created = r
        .create_return(authed(
            CreateReturnRequest {
                kind: ReturnKind::ReturnRefund as i32,
                order_id: "demo-1".into(),
                order_line_id: "l1".into(),
                quantity: 1,
                reason: ReturnReason::QualityDefect as i32,
                description: "the zip broke".into(),
                evidence: vec![EvidenceRef {
                    uri: "https://evidence.example/zip.jpg".into(),
                    kind: 1,
                    ..Default::default()
                }],
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    let name = created.name;
    r.approve_return(authed(
        ApproveReturnRequest {
            name: name.clone(),
            return_address: Some(Address {
                city: "Shanghai".into(),
                street: "1 Return Rd".into(),
                ..Default::default()
            }),
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    r.submit_return_shipment(authed(
        SubmitReturnShipmentRequest {
            name: name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF880001".into(),
            request_id: rid(),
            ..Default::default()
        },
        &s.buyer,
    ))
    .await
    .unwrap();
    let partner = s.world.partner_token("sf-express", "sf");
    let mut l = LogisticsServiceClient::new(s.logistics.channel());
    eventually(Duration::from_secs(20), || {
        let (mut l, partner) = (l.clone(), partner.clone());
        async move {
            let ev = ReportCarrierEventRequest {
                event_id: rid(),
                carrier_code: "sf".into(),
                tracking_number: "SF880001".into(),
                status: 4,
                event_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 5,
                    nanos: 0,
                }),
                ..Default::default()
            };
            l.report_carrier_event(authed(ev, &partner))
                .await
                .is_ok_and(|r| !r.into_inner().shipment.is_empty())
        }
    })
    .await;
    let _ = &mut l;
    eventually(Duration::from_secs(20), || {
        let mut r = r.clone();
        let (name, token) = (name.clone(), s.agent.clone());
        async move {
            r.get_return(authed(GetReturnRequest { name }, &token))
                .await
                .unwrap()
                .into_inner()
                .state
                == ReturnState::Inspecting as i32
        }
    })
    .await;
    r.inspect_return(authed(
        InspectReturnRequest {
            name: name.clone(),
            result: InspectionResult::Failed as i32,
            note: "water damage, not a defect".into(),
            evidence: vec![EvidenceRef {
                uri: "https://evidence.example/water.jpg".into(),
                kind: 1,
                ..Default::default()
            }],
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    name
}

#[tokio::test]
async fn a_failed_inspection_is_ruled_for_the_buyer_and_the_goods_are_paid_once() {
    let s = Suite::start(&[]).await;
    let ret = failed_inspection(&s).await;
    // the ticket appears by itself, linked to the return
    let list = || {
        let mut c = s.client();
        let (token, ret) = (s.agent.clone(), ret.clone());
        async move {
            c.list_complaints(authed(
                ListComplaintsRequest {
                    subject_case: ret,
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .complaints
        }
    };
    eventually(Duration::from_secs(20), || async {
        list().await.len() == 1
    })
    .await;
    let t = list().await.pop().unwrap();
    assert_eq!(t.origin, ComplaintOrigin::InspectionDispute as i32);
    assert_eq!(t.channel, 8, "raised by the platform");
    assert_eq!(
        t.evidence.len(),
        2,
        "the platform's records, the merchant's evidence"
    );
    let records = &t.evidence[0];
    assert_eq!(records.submitted_by.as_ref().unwrap().id, "platform");
    assert!(
        records.statement.contains("SF880001") && records.statement.contains("paid"),
        "the transaction facts and the return parcel's timeline: {}",
        records.statement
    );
    assert!(
        !records.statement.contains("pay-demo-1"),
        "no payment reference"
    );
    assert_eq!(t.evidence[1].evidence.len(), 1, "the inspection's photo");
    let mut c = s.client();
    c.claim_complaint(authed(
        ClaimComplaintRequest {
            name: t.name.clone(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let ruling = IssueRulingRequest {
        name: t.name.clone(),
        basis: "the defect shows on the buyer's photos before any use".into(),
        liability: Liability::Merchant as i32,
        outcome: RulingOutcome::BuyerUpheld as i32,
        summary: "refund the goods".into(),
        request_id: rid(),
        ..Default::default()
    };
    // the ruling call twice (a client's retry): one ruling
    for _ in 0..2 {
        let ruled = c
            .issue_ruling(authed(ruling.clone(), &s.arbitrator))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ruled.state, ComplaintState::Resolved as i32);
    }
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'rule'")
            .await,
        1
    );
    // RulingIssued delivered a second time to returns: applied once
    let ruling_event = || async {
        testkit::published(&s.world, "complaints")
            .await
            .into_iter()
            .find(|e| e.r#type == "aftersales.complaints.v1.RulingIssued")
    };
    eventually(Duration::from_secs(10), || async {
        ruling_event().await.is_some()
    })
    .await;
    let issued = ruling_event().await.unwrap();
    let key = kit::outbox::stream_key(&s.world.redis_prefix(), "complaints");
    let mut redis = testkit::redis().await;
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("id")
        .arg(&issued.id)
        .arg("envelope")
        .arg(issued.encode_to_vec())
        .query_async(&mut redis)
        .await
        .unwrap();
    // the return is refunded and completes
    let r = ReturnsServiceClient::new(s.returns.channel());
    eventually(Duration::from_secs(30), || {
        let mut r = r.clone();
        let (name, token) = (ret.clone(), s.agent.clone());
        async move {
            r.get_return(authed(GetReturnRequest { name }, &token))
                .await
                .unwrap()
                .into_inner()
                .state
                == ReturnState::Completed as i32
        }
    })
    .await;
    let refunds = RefundsServiceClient::new(s.refunds.channel())
        .list_refunds(authed(
            ListRefundsRequest {
                source_case: ret.clone(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .refunds;
    let goods: Vec<_> = refunds
        .iter()
        .filter(|x| x.kind == RefundKind::Goods as i32)
        .collect();
    assert_eq!(goods.len(), 1, "the goods refunded once: {refunds:?}");
    let by_complaint = RefundsServiceClient::new(s.refunds.channel())
        .list_refunds(authed(
            ListRefundsRequest {
                source_case: t.name.clone(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .refunds;
    assert!(by_complaint.is_empty(), "and not by the complaint as well");
    assert_eq!(goods[0].state, RefundState::Settled as i32);
    let payouts = SandboxControlClient::new(s.sandbox.channel())
        .list_payouts(authed(
            ListPayoutsRequest {
                refund: goods[0].name.clone(),
                ..Default::default()
            },
            &s.world.token(kit::auth::Role::Service, "refunds"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(payouts.payouts.len(), 1, "one payout at the gateway");
    assert_eq!(
        s.world
            .scalar(
                "returns",
                "SELECT count(*) FROM {s}.audit WHERE action = 'ruling'"
            )
            .await,
        1,
        "returns applied the ruling once"
    );
}
