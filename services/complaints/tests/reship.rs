//! A reship remedy tracked through logistics to the end: the merchant records the parcel
//! it sent, complaints registers it as the ticket's replacement leg, the carrier's scans
//! come back through logistics: an exception is told to the owner and the desk, a parcel
//! sent back fails the remedy (the merchant is asked again), a new parcel delivered does
//! it and resolves the ticket.

use crate::harness::{Suite, complaint, rid};
use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, CloseComplaintRequest, Complaint, ComplaintState, ExecutionState,
    Liability, ProposeResolutionRequest, RecordExecutionRequest, Remedy, RemedyKind,
    RespondToProposalRequest,
};
use kit::auth::Role;
use testkit::authed;
use tonic::Code;
use tonic_types::StatusExt;

const MERCHANT: i32 = 2;
const AGENT: i32 = 3;
const DELIVERED: i32 = 4;
const EXCEPTION: i32 = 5;
const RETURNED_TO_SENDER: i32 = 6;

fn parcel(t: &Complaint, tracking: &str) -> RecordExecutionRequest {
    RecordExecutionRequest {
        name: t.name.clone(),
        remedy_id: "1".into(),
        carrier_code: "SF".into(),
        tracking_number: tracking.into(),
        request_id: rid(),
        ..Default::default()
    }
}

fn clock_kinds(t: &Complaint) -> Vec<&str> {
    t.clocks.iter().map(|k| k.kind.as_str()).collect()
}

#[tokio::test]
async fn a_reship_is_followed_through_logistics_past_a_lost_parcel_to_its_delivery() {
    let s = Suite::start(&[]).await;
    let mut c = s.client();
    let t = c
        .create_complaint(authed(complaint("demo-1"), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    c.claim_complaint(authed(
        ClaimComplaintRequest {
            name: t.name.clone(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    c.propose_resolution(authed(
        ProposeResolutionRequest {
            name: t.name.clone(),
            summary: "the shop sends a new one".into(),
            remedies: vec![Remedy {
                kind: RemedyKind::Reship as i32,
                borne_by: Liability::Merchant as i32,
                note: "one new jacket, size M".into(),
                ..Default::default()
            }],
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let t = c
        .respond_to_proposal(authed(
            RespondToProposalRequest {
                name: t.name.clone(),
                accept: true,
                comment: "ok".into(),
                request_id: rid(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.state, ComplaintState::Executing as i32);
    assert!(
        clock_kinds(&t).contains(&"execution"),
        "carrying it out is on a clock: {:?}",
        clock_kinds(&t)
    );
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        s.platform
            .told(MERCHANT, "merchant-1")
            .await
            .contains(&"reship_requested".to_string())
    })
    .await;

    // a reship is done by logistics' word, not by anyone's say-so
    let done = RecordExecutionRequest {
        name: t.name.clone(),
        remedy_id: "1".into(),
        state: ExecutionState::Done as i32,
        request_id: rid(),
        ..Default::default()
    };
    let err = c
        .record_execution(authed(done.clone(), &s.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let info = err.get_details_error_info().expect("a reason");
    assert_eq!(info.reason, "SHIPPED_THROUGH_LOGISTICS");
    let err = c
        .record_execution(authed(done, &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // another shop does not see the ticket at all
    let other = s.world.token(Role::Merchant, "merchant-2");
    let err = c
        .record_execution(authed(parcel(&t, "SF-R0"), &other))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // a parcel logistics could not track is refused at the door, never left pending
    let bad = RecordExecutionRequest {
        carrier_code: "s/f".into(),
        tracking_number: "SF 1".into(),
        ..parcel(&t, "")
    };
    let err = c
        .record_execution(authed(bad, &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        testkit::bad_fields(&err),
        ["carrier_code", "tracking_number"]
    );

    // the shop's first parcel does not arrive
    let sent = c
        .record_execution(authed(parcel(&t, "SF-R1"), &s.merchant))
        .await
        .unwrap()
        .into_inner();
    let r = &sent.remedies[0];
    assert_eq!(r.execution_state, ExecutionState::InProgress as i32);
    assert_eq!(r.execution_reference, "sf/SF-R1");
    let err = c
        .record_execution(authed(parcel(&t, "SF-R9"), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "one parcel at a time");
    // a carrier's exception is told to the owner and the desk; the parcel may still come
    s.carrier_reports("SF-R1", EXCEPTION).await;
    let suite = &s;
    let told = move |template: &'static str| async move {
        let desk = suite.platform.told(AGENT, "complaints-desk").await;
        let owner = suite.platform.told(AGENT, "cs-1").await;
        desk.contains(&template.to_string()) && owner.contains(&template.to_string())
    };
    testkit::eventually(std::time::Duration::from_secs(10), || {
        told("reship_exception")
    })
    .await;
    assert_eq!(
        s.get(&t.name).await.remedies[0].execution_state,
        ExecutionState::InProgress as i32
    );
    // sent back to the shop: the reship failed, the merchant is asked again
    s.carrier_reports("SF-R1", RETURNED_TO_SENDER).await;
    let failed = s
        .until(&t.name, |x| {
            x.remedies[0].execution_state == ExecutionState::Failed as i32
        })
        .await;
    assert_eq!(failed.state, ComplaintState::Executing as i32);
    testkit::eventually(std::time::Duration::from_secs(10), || told("remedy_failed")).await;
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        let merchant = s.platform.told(MERCHANT, "merchant-1").await;
        merchant.iter().filter(|x| *x == "reship_requested").count() == 2
    })
    .await;

    // nor may it close while the reship is owed
    let err = c
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
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "REMEDIES_PENDING"
    );
    assert!(err.message().contains("EXECUTING"), "{err:?}");

    // a new parcel, delivered: the remedy is done and the ticket resolved
    c.record_execution(authed(parcel(&t, "SF-R2"), &s.merchant))
        .await
        .unwrap();
    s.carrier_reports("SF-R2", DELIVERED).await;
    let resolved = s
        .until(&t.name, |x| x.state == ComplaintState::Resolved as i32)
        .await;
    let r = &resolved.remedies[0];
    assert_eq!(r.execution_state, ExecutionState::Done as i32);
    assert_eq!(r.execution_reference, "sf/SF-R2");
    assert!(r.execute_time.is_some());
    assert_eq!(
        clock_kinds(&resolved),
        ["closing"],
        "the execution clock stopped, the closing one runs"
    );
    // the buyer heard of each parcel, once each
    let buyer = s.platform.told(1, "buyer-1").await;
    let shipped = buyer.iter().filter(|x| *x == "reship_shipped").count();
    assert_eq!(shipped, 2, "{buyer:?}");
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.outbox WHERE kind = 'command' AND topic = 'logistics'")
            .await,
        2,
        "one registration per parcel"
    );
}
