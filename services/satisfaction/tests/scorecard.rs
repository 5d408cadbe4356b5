//! The merchant scorecard from the events that make it, each counted once however often
//! it comes: cases ended (a repair's extra rounds as re-repairs), complaints opened, the
//! merchant's own clocks met or breached on the SLA service (other parties' clocks not
//! counted), late penalties settled (other refunds not); its CSAT from the ratings.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::{CaseContext, Money},
    complaints::v1::{ComplaintClosed, ComplaintOpened},
    refunds::v1::{RefundKind, RefundSettled},
    repairs::v1::RepairCompleted,
    satisfaction::v1::GetMerchantScorecardRequest,
    sla::v1::{Breach, Timer, TimerCancelled, TimerExpired},
};
use kit::auth::Role;
use testkit::{authed, envelope, eventually};
use tonic::Code;

use crate::harness::{Suite, rating, ts};

fn ctx(case: &str) -> Option<CaseContext> {
    Some(CaseContext {
        case_name: case.into(),
        buyer_id: "buyer-1".into(),
        merchant_id: "m-s".into(),
        category: "electronics".into(),
        region: "CN-31".into(),
        ..Default::default()
    })
}

/// A merchant clock met: cancelled before its due time.
fn met(id: &str) -> TimerCancelled {
    TimerCancelled {
        timer: Some(Timer {
            name: format!("timers/{id}"),
            labels: labels("merchant"),
            due_time: ts(-3_600),
            ..Default::default()
        }),
        reason: "moved on".into(),
    }
}

fn penalty(id: &str, kind: RefundKind, minor: i64) -> RefundSettled {
    RefundSettled {
        refund: format!("refunds/{id}"),
        source_case: "repairs/s1".into(),
        kind: kind as i32,
        amount: Some(Money {
            amount_minor: minor,
            currency: "CNY".into(),
        }),
        merchant_id: "m-s".into(),
        settle_time: ts(0),
    }
}

fn labels(party: &str) -> std::collections::BTreeMap<String, String> {
    [("merchant_id", "m-s"), ("party", party)]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into()
}

fn repair(case: &str, rounds: u32) -> RepairCompleted {
    RepairCompleted {
        context: ctx(case),
        request_time: ts(7_200),
        first_response_time: ts(3_600),
        complete_time: ts(0),
        rounds,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_scorecard_counts_each_event_once_with_the_counts_behind_each_figure() {
    let s = Suite::start(&[]).await;
    let mut events = vec![
        (
            "repairs",
            envelope("repairs", "repairs/s1", &repair("repairs/s1", 1)),
        ),
        (
            "repairs",
            envelope("repairs", "repairs/s2", &repair("repairs/s2", 3)),
        ),
        (
            "repairs",
            envelope("repairs", "repairs/s3", &repair("repairs/s3", 1)),
        ),
    ];
    let closed = ComplaintClosed {
        context: ctx("complaints/s4"),
        create_time: ts(600),
        close_time: ts(0),
        ..Default::default()
    };
    events.push((
        "complaints",
        envelope("complaints", "complaints/s4", &closed),
    ));
    for c in ["complaints/s4", "complaints/s5"] {
        let opened = ComplaintOpened {
            context: ctx(c),
            ..Default::default()
        };
        events.push(("complaints", envelope("complaints", c, &opened)));
    }
    // the merchant's clocks: three met, one breached; the buyer's breach is not theirs
    for i in 0..3 {
        let id = format!("met-{i}");
        events.push(("sla", envelope("sla", &format!("timers/{id}"), &met(&id))));
    }
    // cancelled after its due time: the expiry's to count, not a clock met
    let mut late_cancel = met("late-cancel");
    late_cancel.timer.as_mut().unwrap().due_time = ts(60);
    events.push(("sla", envelope("sla", "timers/late-cancel", &late_cancel)));
    // (the ones not counted go first on their streams: when the counted ones after them
    // are in the inbox, they were read)
    for (id, party) in [("buyer-late", "buyer"), ("late", "merchant")] {
        let breach = TimerExpired {
            breach: Some(Breach {
                timer: format!("timers/{id}"),
                due_time: ts(60),
                labels: labels(party),
                ..Default::default()
            }),
        };
        events.push(("sla", envelope("sla", &format!("timers/{id}"), &breach)));
    }
    // a late penalty of 5.00 settled, and a goods refund (not a penalty)
    for (id, kind, minor) in [
        ("goods", RefundKind::Goods, 9_900),
        ("late", RefundKind::LatePenalty, 500),
    ] {
        let e = envelope(
            "refunds",
            &format!("refunds/{id}"),
            &penalty(id, kind, minor),
        );
        events.push(("refunds", e));
    }
    for (topic, e) in &events {
        s.announce(topic, e).await;
    }
    // every event delivered again (a relay refilling its streams), and a case published
    // again under a new event id
    for (topic, e) in &events {
        s.announce(topic, e).await;
    }
    s.announce(
        "repairs",
        &envelope("repairs", "repairs/s1", &repair("repairs/s1", 1)),
    )
    .await;
    // a counted marker last on every stream: when they are all in, every event before
    // them was read
    let opened = ComplaintOpened {
        context: ctx("complaints/s6"),
        ..Default::default()
    };
    let markers = [
        (
            "repairs",
            envelope("repairs", "repairs/s9", &repair("repairs/s9", 1)),
        ),
        (
            "complaints",
            envelope("complaints", "complaints/s6", &opened),
        ),
        (
            "sla",
            envelope("sla", "timers/met-marker", &met("met-marker")),
        ),
        (
            "refunds",
            envelope(
                "refunds",
                "refunds/late-2",
                &penalty("late-2", RefundKind::LatePenalty, 500),
            ),
        ),
    ];
    for (topic, e) in &markers {
        s.announce(topic, e).await;
    }
    // in the inbox, once each: every event but the three not counted (the buyer's breach,
    // the late cancel, the goods refund), s1's second id, the markers
    let distinct = events.len() as i64 - 3 + 1 + markers.len() as i64;
    eventually(Duration::from_secs(20), || async {
        s.scalar("SELECT count(*) FROM {s}.inbox").await == distinct
    })
    .await;
    // two of the merchant's surveys rated: one satisfied
    let names = s
        .world
        .pairs(
            "satisfaction",
            "SELECT case_name, 'surveys/' || id FROM {s}.surveys ORDER BY case_name",
        )
        .await;
    for ((_, name), scores) in names.iter().zip([[5, 5, 4, 4, 4], [2, 2, 2, 2, 2]]) {
        s.client()
            .submit_rating(authed(rating(name, scores), &s.buyer))
            .await
            .unwrap();
    }
    let req = || GetMerchantScorecardRequest {
        name: "merchants/m-s/scorecard".into(),
        ..Default::default()
    };
    let own = s.world.token(Role::Merchant, "m-s");
    let card = s
        .client()
        .get_merchant_scorecard(authed(req(), &own))
        .await
        .unwrap()
        .into_inner();
    // four repairs (s1, s2, s3, s9) and a complaint ended; s1's second event id counts nothing
    assert_eq!(card.cases, 5);
    assert_eq!(card.re_repairs, 2, "s2 took three rounds");
    assert_eq!((card.complaints, card.complaint_rate), (3, 0.6));
    assert_eq!(
        (card.sla_clocks, card.sla_breaches, card.sla_compliance),
        (5, 1, 0.8)
    );
    assert_eq!(card.late_penalties_settled, 2);
    assert_eq!(
        card.penalties,
        [Money {
            amount_minor: 1_000,
            currency: "CNY".into()
        }]
    );
    assert_eq!(
        (card.ratings, card.satisfied_ratings, card.csat),
        (2, 1, 0.5)
    );
    assert!(!card.below_csat_target, "2 ratings judge nothing");
    // four repairs of 2 h and a complaint of 10 min: 5,880 s (the events' instants were
    // taken a moment apart)
    let mean = card.mean_resolution_time.unwrap().seconds;
    assert!((5_878..=5_882).contains(&mean), "{mean}");
    // another merchant's scorecard is not this one's to see
    let other = s.world.token(Role::Merchant, "m-t");
    let err = s
        .client()
        .get_merchant_scorecard(authed(req(), &other))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
