//! A buyer's complaint to its end: an accepted proposal's refund is paid through refunds
//! and followed to its settlement, the ticket resolves, closes with its cause, gets its
//! follow-up visit, counts in the month's statistics and shows in the public listing
//! without the buyer's name, phone or order number.

use std::time::Duration;

use crate::harness::{Suite, cny, complaint, rid};
use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, CloseComplaintRequest, ComplaintPriority, ComplaintState, Contact,
    CountEntry, ExecutionState, GetComplaintStatsRequest, Liability, ListPublicOutcomesRequest,
    ProposeResolutionRequest, RecordFollowUpRequest, Remedy, RemedyKind, RespondToProposalRequest,
};
use testkit::authed;
use tonic::Code;

#[tokio::test]
async fn a_complaint_is_paid_closed_followed_up_counted_and_published_anonymised() {
    let s = Suite::start(&[]).await;
    let mut req = complaint("demo-1");
    req.problem = "王小明 here: order demo-1 arrived torn, call me on 139-0000-1111".into();
    req.contact = Some(Contact {
        name: "王小明".into(),
        phone: "139-0000-1111".into(),
        ..Default::default()
    });
    let mut c = s.client();
    let t = c
        .create_complaint(authed(req, &s.buyer))
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
            summary: "a refund of 50.00 for the tear".into(),
            remedies: vec![Remedy {
                kind: RemedyKind::Refund as i32,
                amount: cny(5_000),
                borne_by: Liability::Merchant as i32,
                ..Default::default()
            }],
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let accepted = c
        .respond_to_proposal(authed(
            RespondToProposalRequest {
                name: t.name.clone(),
                accept: true,
                comment: "fine".into(),
                request_id: rid(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.state, ComplaintState::Executing as i32);
    // the refund settles at the sandbox gateway: the ticket resolves by itself
    let done = s
        .until(&t.name, |x| x.state == ComplaintState::Resolved as i32)
        .await;
    let remedy = &done.remedies[0];
    assert_eq!(remedy.execution_state, ExecutionState::Done as i32);
    assert!(
        remedy.execution_reference.starts_with("refunds/"),
        "{remedy:?}"
    );
    // first-contact ownership: another agent cannot close it
    let err = c
        .close_complaint(authed(
            CloseComplaintRequest {
                name: t.name.clone(),
                cause: "quality_defect".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.world.token(kit::auth::Role::Agent, "cs-2"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    c.close_complaint(authed(
        CloseComplaintRequest {
            name: t.name.clone(),
            cause: "quality_defect".into(),
            summary: "refunded".into(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let follow = |satisfaction| RecordFollowUpRequest {
        name: t.name.clone(),
        satisfaction,
        resolved: true,
        comment: "quick".into(),
        request_id: rid(),
    };
    let err = c
        .record_follow_up(authed(follow(6), &s.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let visited = c
        .record_follow_up(authed(follow(5), &s.agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(visited.follow_up.unwrap().satisfaction, 5);
    testkit::eventually(Duration::from_secs(10), || async {
        testkit::published(&s.world, "complaints")
            .await
            .iter()
            .any(|e| e.r#type == "aftersales.complaints.v1.ComplaintClosed")
    })
    .await;

    // the month's statistics count it
    let month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m")
        .to_string();
    let stats = c
        .get_complaint_stats(authed(
            GetComplaintStatsRequest {
                month: month.clone(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.created, stats.closed), (1, 1));
    assert_eq!(stats.top_causes[0].key, "quality_defect");
    assert_eq!(stats.on_time_share, 1.0);
    assert!(stats.mean_first_response.is_some());
    let keys = |v: &[CountEntry]| {
        v.iter()
            .map(|e| (e.key.clone(), e.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&stats.by_region), [("CN-31".to_string(), 1)]);
    assert_eq!(keys(&stats.by_merchant), [("merchant-1".to_string(), 1)]);
    let per_priority: Vec<_> = stats
        .on_time_by_priority
        .iter()
        .map(|p| (p.priority, p.resolved, p.on_time))
        .collect();
    assert_eq!(
        per_priority,
        [
            (ComplaintPriority::Urgent as i32, 0, 0),
            (ComplaintPriority::Normal as i32, 1, 1)
        ]
    );
    // another merchant's figures hold none of it
    let theirs = c
        .get_complaint_stats(authed(
            GetComplaintStatsRequest {
                month: month.clone(),
                merchant_id: "merchant-2".into(),
                ..Default::default()
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((theirs.created, theirs.closed), (0, 0));

    // and the public listing shows its outcome with nothing of the buyer in it
    let listed = c
        .list_public_outcomes(authed(
            ListPublicOutcomesRequest {
                month,
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(listed.len(), 1);
    let o = &listed[0];
    // the text a reader sees (not the Debug form: a timestamp's digits could hold "139")
    let shown = [
        &o.masked_ticket_number,
        &o.category,
        &o.region,
        &o.problem_summary,
        &o.outcome_summary,
        &o.shop,
    ]
    .map(|f| f.as_str())
    .join(" | ");
    for leak in [
        "王小明",
        "139",
        "1111",
        "demo-1",
        "buyer-1",
        &t.ticket_number,
    ] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
    assert!(
        o.problem_summary.contains("arrived torn"),
        "{}",
        o.problem_summary
    );
    assert_eq!(o.remedy_kinds, [RemedyKind::Refund as i32]);
    assert_eq!(o.shop, "merchant-1");
}
