//! The clocks through the real SLA service, with second-long policy clocks: a breach is
//! recorded and shown, a reminder reaches the queue before it, waiting on the buyer
//! keeps the remaining time, and an unanswered evidence request moves the ticket on with
//! the merchant's silence recorded for the ruling.

use std::time::Duration;

use crate::harness::{Suite, cny, rid};
use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, ComplaintState, IssueRulingRequest, Liability, ProposeResolutionRequest,
    Remedy, RemedyKind, RequestMerchantEvidenceRequest, RespondToProposalRequest, RulingOutcome,
};
use testkit::authed;

const AGENT: i32 = 3;

#[tokio::test]
async fn an_unresolved_ticket_is_reminded_then_breached_and_shows_it() {
    let s = Suite::start(&[
        ("COMPLAINTS_CLOCK_RESOLUTION", "4s"),
        ("COMPLAINTS_CLOCK_FIRST_RESPONSE", "1h"),
    ])
    .await;
    let t = s.file("demo-1").await;
    let clock = t.clock.clone().unwrap();
    assert_eq!(clock.kind, "resolution", "due first");
    assert_eq!(t.clocks.len(), 2, "resolution and first response");
    let breached = s.until(&t.name, |c| !c.breaches.is_empty()).await;
    assert_eq!(breached.breaches.len(), 1);
    assert_eq!(breached.breaches[0].clock, "resolution");
    assert_eq!(
        breached.state,
        ComplaintState::Open as i32,
        "it goes on, now late"
    );
    let next = breached
        .clocks
        .iter()
        .find(|k| k.kind == "resolution")
        .expect("a new period runs: a late ticket is never unwatched");
    assert!(
        next.due_time.as_ref().unwrap().seconds
            > breached.breaches[0].due_time.as_ref().unwrap().seconds,
        "on a fresh timer after the breach"
    );
    // the desk's queue (nobody owns it) was reminded at 80 %, then told of the breach
    testkit::eventually(Duration::from_secs(10), || async {
        s.platform
            .told(AGENT, "complaints-desk")
            .await
            .contains(&"clock_breached".to_string())
    })
    .await;
    let told = s.platform.told(AGENT, "complaints-desk").await;
    let at = |t: &str| {
        told.iter()
            .position(|x| x == t)
            .unwrap_or_else(|| panic!("{t}: {told:?}"))
    };
    assert!(at("resolution_due_soon") < at("clock_breached"), "{told:?}");
}

#[tokio::test]
async fn waiting_on_the_buyer_keeps_the_remaining_time() {
    let s = Suite::start(&[
        ("COMPLAINTS_CLOCK_RESOLUTION", "4s"),
        ("COMPLAINTS_CLOCK_FIRST_RESPONSE", "1h"),
        ("COMPLAINTS_CLOCK_PROPOSAL_RESPONSE", "1h"),
    ])
    .await;
    let t = s.file("demo-1").await;
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
    let proposed = c
        .propose_resolution(authed(
            ProposeResolutionRequest {
                name: t.name.clone(),
                summary: "half the price back".into(),
                remedies: vec![Remedy {
                    kind: RemedyKind::Refund as i32,
                    amount: cny(9_950),
                    borne_by: Liability::Merchant as i32,
                    ..Default::default()
                }],
                request_id: rid(),
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    let paused = proposed
        .clocks
        .iter()
        .find(|k| k.kind == "resolution")
        .unwrap()
        .clone();
    assert!(paused.paused && paused.due_time.is_none());
    let left = paused.remaining.unwrap();
    assert!(
        left.seconds < 4 && (left.seconds > 0 || left.nanos > 0),
        "{left:?}"
    );
    // more than the whole span passes while the buyer is awaited: no breach
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        s.get(&t.name).await.breaches.is_empty(),
        "paused, not running"
    );
    let declined = c
        .respond_to_proposal(authed(
            RespondToProposalRequest {
                name: t.name.clone(),
                accept: false,
                comment: "not enough".into(),
                request_id: rid(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declined.state, ComplaintState::Arbitrating as i32);
    let resumed = declined
        .clocks
        .iter()
        .find(|k| k.kind == "resolution")
        .unwrap();
    let due = resumed.due_time.as_ref().unwrap();
    let answered = declined.proposal.unwrap().respond_time.unwrap();
    let resumed_span_ms =
        (due.seconds - answered.seconds) * 1000 + (due.nanos - answered.nanos) as i64 / 1_000_000;
    let left_ms = left.seconds * 1000 + left.nanos as i64 / 1_000_000;
    assert!(
        (resumed_span_ms - left_ms).abs() <= 5,
        "resumed for what was left: {resumed_span_ms} ms vs {left_ms} ms"
    );
    // and it runs out after that remaining time
    let late = s.until(&t.name, |c| !c.breaches.is_empty()).await;
    assert_eq!(late.breaches[0].clock, "resolution");
    assert_eq!(
        late.breaches[0].due_time.as_ref(),
        Some(due),
        "it ran out when the time left after the pause did"
    );
}

#[tokio::test]
async fn an_unanswered_evidence_request_moves_on_and_the_ruling_records_the_silence() {
    let s = Suite::start(&[("COMPLAINTS_CLOCK_FIRST_RESPONSE", "1h")]).await;
    let t = s.file("demo-1").await;
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
    let asked = c
        .request_merchant_evidence(authed(
            RequestMerchantEvidenceRequest {
                name: t.name.clone(),
                request_text: "the factory QC report for this batch".into(),
                deadline: Some(prost_types::Duration {
                    seconds: 2,
                    nanos: 0,
                }),
                request_id: rid(),
            },
            &s.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(asked.state, ComplaintState::AwaitingEvidence as i32);
    assert!(asked.evidence_request.unwrap().due_time.is_some());
    testkit::eventually(Duration::from_secs(10), || async {
        s.platform
            .told(2, "merchant-1")
            .await
            .contains(&"evidence_requested".to_string())
    })
    .await;
    let moved = s
        .until(&t.name, |c| c.state == ComplaintState::Investigating as i32)
        .await;
    assert!(moved.evidence_request.unwrap().expired);
    assert_eq!(moved.facts.len(), 1, "{:?}", moved.facts);
    let ruled = c
        .issue_ruling(authed(
            IssueRulingRequest {
                name: t.name.clone(),
                basis: "the buyer's photos; no answer from the merchant".into(),
                liability: Liability::Merchant as i32,
                outcome: RulingOutcome::BuyerUpheld as i32,
                summary: "the merchant is liable".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.arbitrator,
        ))
        .await
        .unwrap()
        .into_inner();
    let ruling = ruled.ruling.unwrap();
    assert_eq!(ruling.facts.len(), 1);
    assert!(
        ruling.facts[0].starts_with("the merchant did not answer the evidence request"),
        "{:?}",
        ruling.facts
    );
    assert_eq!(ruled.state, ComplaintState::Resolved as i32, "nothing owed");
}
