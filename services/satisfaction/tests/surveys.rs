//! Surveys open by themselves, once per finished case, from the cases' own events (a
//! refund is part of its case and opens none of its own); a
//! rating is the case's buyer's, once, with every score in range; an unanswered survey
//! expires on its clock on the SLA service.

use std::time::Duration;

use aftersales_proto::aftersales::{
    complaints::v1::ComplaintClosed,
    repairs::v1::RepairCompleted,
    returns::v1::{ReturnClosed, ReturnCompleted, ReturnKind, ReturnState},
    satisfaction::v1::{GetSurveyRequest, ServiceType, SurveyState},
};
use kit::auth::Role;
use testkit::{authed, bad_fields, envelope, eventually};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Suite, context, rating, ts};

const BUYER: i32 = 1;

fn repair_done(case: &str) -> RepairCompleted {
    RepairCompleted {
        context: context(case),
        // filed 3 days ago, answered 4.5 h later, done now
        request_time: ts(3 * 86_400),
        first_response_time: ts(3 * 86_400 - 16_200),
        complete_time: ts(0),
        rounds: 1,
        ..Default::default()
    }
}

/// A finished case's survey, open.
async fn opened(s: &Suite, case: &str) -> String {
    s.announce("repairs", &envelope("repairs", case, &repair_done(case)))
        .await;
    eventually(Duration::from_secs(20), || async {
        s.surveys(&[]).await.iter().any(|x| x.case_name == case)
    })
    .await;
    let all = s.surveys(&[]).await;
    all.into_iter().find(|x| x.case_name == case).unwrap().name
}

#[tokio::test]
async fn each_finished_case_opens_one_survey_even_when_its_event_comes_twice() {
    let s = Suite::start(&[]).await;
    let repair = envelope("repairs", "repairs/r1", &repair_done("repairs/r1"));
    let refund_only = ReturnCompleted {
        context: context("returns/a1"),
        kind: ReturnKind::RefundOnly as i32,
        request_time: ts(7_200),
        first_response_time: ts(3_600),
        complete_time: ts(0),
        ..Default::default()
    };
    let rejected = ReturnClosed {
        context: context("returns/a2"),
        state: ReturnState::Closed as i32,
        kind: ReturnKind::ReturnRefund as i32,
        request_time: ts(86_400),
        first_response_time: ts(80_000),
        close_time: ts(0),
        ..Default::default()
    };
    // forfeited (the buyer never shipped back): nobody decided, no survey
    let forfeited = ReturnClosed {
        context: context("returns/a3"),
        state: ReturnState::ClosedForfeited as i32,
        kind: ReturnKind::ReturnRefund as i32,
        request_time: ts(86_400),
        close_time: ts(0),
        ..Default::default()
    };
    let complaint = ComplaintClosed {
        context: context("complaints/c1"),
        create_time: ts(600),
        first_response_time: ts(500),
        close_time: ts(0),
        ..Default::default()
    };
    s.announce("repairs", &repair).await;
    // first on its stream: read before the counted ones after it
    s.announce("returns", &envelope("returns", "returns/a3", &forfeited))
        .await;
    s.announce("returns", &envelope("returns", "returns/a1", &refund_only))
        .await;
    s.announce("returns", &envelope("returns", "returns/a2", &rejected))
        .await;
    s.announce(
        "complaints",
        &envelope("complaints", "complaints/c1", &complaint),
    )
    .await;
    // delivered again (a relay refilling its stream), and published again under a new id
    s.announce("repairs", &repair).await;
    s.announce(
        "repairs",
        &envelope("repairs", "repairs/r1", &repair_done("repairs/r1")),
    )
    .await;
    // every opening event applied (the inbox holds one row per distinct event id: the
    // repair's two ids, the refund-only, the rejection, the complaint); the stream's
    // order puts the redelivery before the repair's second id
    eventually(Duration::from_secs(20), || async {
        s.scalar("SELECT count(*) FROM {s}.inbox").await == 5
    })
    .await;
    let surveys = s.surveys(&[]).await;
    assert_eq!(surveys.len(), 4, "{surveys:?}");
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.surveys").await, 4);
    let mut kinds: Vec<(String, i32)> = surveys
        .iter()
        .map(|x| (x.case_name.clone(), x.service_type))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("complaints/c1".to_string(), ServiceType::Complaint as i32),
            ("repairs/r1".to_string(), ServiceType::Repair as i32),
            ("returns/a1".to_string(), ServiceType::RefundOnly as i32),
            ("returns/a2".to_string(), ServiceType::Return as i32),
        ]
    );
    // the measured times come from the event
    let r1 = surveys
        .iter()
        .find(|x| x.case_name == "repairs/r1")
        .unwrap();
    assert_eq!(r1.first_response_time.unwrap().seconds, 16_200);
    assert_eq!(r1.resolution_time.unwrap().seconds, 3 * 86_400);
    assert_eq!(r1.state, SurveyState::Open as i32);
    assert!(r1.expire_time.unwrap().seconds - r1.open_time.unwrap().seconds == 30 * 86_400);
    // the buyer was asked once per survey
    eventually(Duration::from_secs(10), || async {
        s.platform
            .notifications(BUYER, "buyer-1", "survey_opened")
            .await
            .len()
            >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = s
        .platform
        .notifications(BUYER, "buyer-1", "survey_opened")
        .await;
    assert_eq!(asked.len(), 4, "{asked:?}");
}

#[tokio::test]
async fn a_rating_is_its_buyers_once_with_every_score_in_range_and_nothing_else_written() {
    let s = Suite::start(&[]).await;
    let name = opened(&s, "repairs/r2").await;
    let mut c = s.client();
    // another buyer: the survey does not exist for them
    let stranger = s.world.token(Role::Buyer, "buyer-2");
    let err = c
        .submit_rating(authed(rating(&name, [5, 5, 5, 5, 5]), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .get_survey(authed(GetSurveyRequest { name: name.clone() }, &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // out of range, each named; a comment too long
    let mut bad = rating(&name, [0, 5, 6, 5, 5]);
    bad.comment = "x".repeat(2_001);
    let err = c.submit_rating(authed(bad, &s.buyer)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        [
            "comment",
            "scores.response_speed",
            "scores.service_attitude"
        ]
    );
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.surveys WHERE scores IS NOT NULL")
            .await,
        0
    );
    // rated: the overall is the mean; a replay answers the same, a second rating refused
    let first = rating(&name, [5, 3, 4, 4, 4]);
    let rated = c
        .submit_rating(authed(first.clone(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rated.state, SurveyState::Answered as i32);
    assert_eq!(rated.rating.as_ref().unwrap().overall, 4.0);
    let replay = c
        .submit_rating(authed(first, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, rated);
    let err = c
        .submit_rating(authed(rating(&name, [1, 1, 1, 1, 1]), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let now = c
        .get_survey(authed(GetSurveyRequest { name: name.clone() }, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.rating, rated.rating, "the first rating stands");
    eventually(Duration::from_secs(10), || async {
        testkit::published(&s.world, "satisfaction")
            .await
            .iter()
            .any(|e| e.r#type == "aftersales.satisfaction.v1.RatingSubmitted")
    })
    .await;
    let rated_events = testkit::published(&s.world, "satisfaction")
        .await
        .into_iter()
        .filter(|e| e.r#type == "aftersales.satisfaction.v1.RatingSubmitted")
        .count();
    assert_eq!(rated_events, 1);
}

#[tokio::test]
async fn two_ratings_racing_leave_one() {
    let s = Suite::start(&[]).await;
    let name = opened(&s, "repairs/r3").await;
    let calls = [[5, 5, 5, 5, 5], [1, 1, 1, 1, 1], [3, 3, 3, 3, 3]].map(|scores| {
        let (mut c, req, who) = (s.client(), rating(&name, scores), s.buyer.clone());
        tokio::spawn(async move { c.submit_rating(authed(req, &who)).await })
    });
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Code::AlreadyExists, "{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.surveys WHERE scores IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn an_unanswered_survey_expires_on_its_clock_and_takes_no_rating_after() {
    let s = Suite::start(&[("SATISFACTION_SURVEY_WINDOW", "3s")]).await;
    let name = opened(&s, "repairs/r4").await;
    eventually(Duration::from_secs(20), || async {
        !s.surveys(&[SurveyState::Expired]).await.is_empty()
    })
    .await;
    let err = s
        .client()
        .submit_rating(authed(rating(&name, [5, 5, 5, 5, 5]), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "SURVEY_EXPIRED"
    );
}
