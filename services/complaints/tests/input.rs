//! Bad input is INVALID_ARGUMENT naming every bad field and writes nothing; a step in
//! the wrong state is FAILED_PRECONDITION naming the state and changes nothing.

use crate::harness::{Suite, rid};
use aftersales_proto::aftersales::{
    common::v1::EvidenceRef,
    complaints::v1::{
        CloseComplaintRequest, CreateComplaintRequest, IssueRulingRequest, Liability, RulingOutcome,
    },
};
use testkit::{authed, bad_fields};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn bad_requests_name_every_field_and_illegal_steps_name_the_state() {
    let s = Suite::start(&[]).await;
    let err = s
        .client()
        .create_complaint(authed(
            CreateComplaintRequest {
                channel: 42,
                problem: "broken".into(),
                demand: "refund".into(),
                evidence: vec![
                    EvidenceRef {
                        uri: "https://evidence.example/x.jpg".into(),
                        ..Default::default()
                    };
                    21
                ],
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&err), ["channel", "evidence", "order_id"]);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.complaints").await, 0);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.audit").await, 0);

    // ruling on an unclaimed ticket
    let t = s.file("demo-1").await;
    let err = s
        .client()
        .issue_ruling(authed(
            IssueRulingRequest {
                name: t.name.clone(),
                basis: "obvious".into(),
                liability: Liability::Merchant as i32,
                outcome: RulingOutcome::BuyerUpheld as i32,
                request_id: rid(),
                ..Default::default()
            },
            &s.arbitrator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let info = err.get_details_precondition_failure().unwrap();
    assert_eq!(info.violations[0].subject, "OPEN", "{info:?}");
    // closing an open ticket
    let err = s
        .client()
        .close_complaint(authed(
            CloseComplaintRequest {
                name: t.name.clone(),
                cause: "quality_defect".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(s.get(&t.name).await.state, t.state, "nothing changed");
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit").await,
        1,
        "the creation only"
    );
}
