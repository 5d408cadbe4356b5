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

#[tokio::test]
async fn a_filing_retried_at_once_opens_one_ticket_and_a_reused_id_with_another_payload_is_refused()
{
    let s = Suite::start(&[]).await;
    let first = crate::harness::complaint("demo-1");
    // six copies of one call racing (a client's retries, two gateway replicas)
    let calls = (0..6).map(|_| {
        let (mut c, r, who) = (s.client(), first.clone(), s.buyer.clone());
        tokio::spawn(async move { c.create_complaint(authed(r, &who)).await })
    });
    let mut names = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(a) => names.push(a.into_inner()),
            // a copy that found the first still in flight may be told to retry
            Err(e) => assert_eq!(e.code(), Code::Aborted, "{e:?}"),
        }
    }
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|t| t.name == names[0].name && t.ticket_number == names[0].ticket_number),
        "every copy answers with the one ticket"
    );
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.complaints").await, 1);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.audit").await, 1);
    let opened = "SELECT count(*) FROM {s}.outbox WHERE kind = 'event' AND topic = 'complaints'";
    assert_eq!(s.scalar(opened).await, 1, "one ComplaintOpened");

    // a later retry still answers the same
    let again = s
        .client()
        .create_complaint(authed(first.clone(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, names[0].name);

    // the same id for another complaint is refused and writes nothing
    let other = CreateComplaintRequest {
        problem: "something else entirely".into(),
        ..first
    };
    let err = s
        .client()
        .create_complaint(authed(other, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&err), ["request_id"]);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.complaints").await, 1);

    // a retry is answered as the first time even when the order's facts changed since
    s.platform
        .put_order(crate::harness::order("moved-1", 5_000, "CN-31"))
        .await;
    let filing = crate::harness::complaint("moved-1");
    let filed = s
        .client()
        .create_complaint(authed(filing.clone(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    let mut moved = crate::harness::order("moved-1", 5_000, "CN-31");
    moved.buyer_id = "buyer-2".into();
    s.platform.put_order(moved).await;
    let retried = s
        .client()
        .create_complaint(authed(filing.clone(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.name, filed.name);
    let fresh = CreateComplaintRequest {
        request_id: rid(),
        ..filing
    };
    let err = s
        .client()
        .create_complaint(authed(fresh, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "a new filing sees the order as it is"
    );
}
