//! The CSAT alert: a merchant whose trailing CSAT crosses below 80 % (on at least 20
//! ratings) is alerted once; staying below raises no more; back at the target and below
//! again raises a second.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::CaseContext,
    repairs::v1::RepairCompleted,
    satisfaction::v1::{ListAlertsRequest, ListAlertsResponse},
};
use kit::auth::Role;
use testkit::{authed, envelope, eventually};
use tonic::Code;

use crate::harness::{Suite, rating, ts};

const MERCHANT: i32 = 2;
const HAPPY: [u32; 5] = [5, 5, 5, 4, 4];
const UNHAPPY: [u32; 5] = [2, 3, 3, 2, 3];

async fn alerts(
    s: &Suite,
    token: &str,
    merchant: &str,
) -> Result<ListAlertsResponse, tonic::Status> {
    let req = ListAlertsRequest {
        page_size: 100,
        merchant_id: merchant.into(),
        ..Default::default()
    };
    s.client()
        .list_alerts(authed(req, token))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_fall_below_the_target_alerts_once_per_crossing() {
    let s = Suite::start(&[]).await;
    let n = 31;
    for i in 0..n {
        let case = format!("repairs/csat-{i:02}");
        let ev = RepairCompleted {
            context: Some(CaseContext {
                case_name: case.clone(),
                buyer_id: "buyer-1".into(),
                merchant_id: "m-a".into(),
                category: "electronics".into(),
                region: "CN-31".into(),
                ..Default::default()
            }),
            request_time: ts(3_600),
            first_response_time: ts(1_800),
            complete_time: ts(0),
            ..Default::default()
        };
        s.announce("repairs", &envelope("repairs", &case, &ev))
            .await;
    }
    eventually(Duration::from_secs(30), || async {
        s.scalar("SELECT count(*) FROM {s}.surveys").await == n
    })
    .await;
    let mut names: Vec<(String, String)> = s
        .world
        .pairs(
            "satisfaction",
            "SELECT case_name, 'surveys/' || id FROM {s}.surveys",
        )
        .await;
    names.sort();
    let mut next = names.into_iter().map(|(_, name)| name);
    let merchant = s.world.token(Role::Merchant, "m-a");
    let mut rate = async |scores: [u32; 5], times: usize| {
        for _ in 0..times {
            let name = next.next().unwrap();
            s.client()
                .submit_rating(authed(rating(&name, scores), &s.buyer))
                .await
                .unwrap();
        }
    };
    let raised = async || alerts(&s, &merchant, "").await.unwrap().alerts;

    // 17 happy, 4 unhappy: 85 % at 20 ratings, 81 % at 21: no alert
    rate(HAPPY, 17).await;
    rate(UNHAPPY, 4).await;
    assert!(raised().await.is_empty(), "17 of 21 is above the target");
    // 17 of 22 is 77 %: one alert
    rate(UNHAPPY, 1).await;
    let first = raised().await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].sample_size, first[0].threshold), (22, 0.8));
    assert!((first[0].value - 17.0 / 22.0).abs() < 1e-12);
    // still below: nothing more
    rate(UNHAPPY, 1).await;
    assert_eq!(raised().await.len(), 1);
    // back to 24 of 30, the target: re-armed, then below again: a second alert
    rate(HAPPY, 7).await;
    assert_eq!(raised().await.len(), 1);
    rate(UNHAPPY, 1).await;
    let second = raised().await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[0].sample_size, 31, "newest first");
    // the merchant was told each time, and AlertRaised published twice
    eventually(Duration::from_secs(10), || async {
        s.platform
            .notifications(MERCHANT, "m-a", "csat_below_target")
            .await
            .len()
            == 2
    })
    .await;
    eventually(Duration::from_secs(10), || async {
        testkit::published(&s.world, "satisfaction")
            .await
            .iter()
            .filter(|e| e.r#type == "aftersales.satisfaction.v1.AlertRaised")
            .count()
            == 2
    })
    .await;
    // a merchant sees its own alerts only
    let other = s.world.token(Role::Merchant, "m-b");
    assert!(alerts(&s, &other, "").await.unwrap().alerts.is_empty());
    let err = alerts(&s, &other, "m-a").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(alerts(&s, &s.agent, "m-a").await.unwrap().alerts.len(), 2);
}
