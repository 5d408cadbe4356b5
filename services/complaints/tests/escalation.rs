//! Escalation to the expert group (seed 002): 9,999.99 CNY stays with the desk,
//! 10,000.00 CNY and a cross-region case go to the experts at once, and an ordinary
//! arbitrator cannot rule on them.

use crate::harness::{Suite, cny, order, rid};
use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, ComplaintState, IssueRulingRequest, Liability, RulingOutcome,
};
use kit::auth::Role;
use testkit::authed;
use tonic::Code;

#[tokio::test]
async fn high_value_and_cross_region_cases_go_to_the_experts_who_alone_rule() {
    let s = Suite::start(&[]).await;
    s.platform
        .put_order(order("big-below", 999_999, "CN-31"))
        .await;
    s.platform
        .put_order(order("big-1", 1_000_000, "CN-31"))
        .await;
    s.platform.put_order(order("far-1", 10_000, "CN-44")).await;
    let file = |order: &str, claim: i64| {
        let mut c = s.client();
        let mut req = crate::harness::complaint(order);
        req.claim_amount = cny(claim);
        let token = s.buyer.clone();
        async move {
            c.create_complaint(authed(req, &token))
                .await
                .unwrap()
                .into_inner()
        }
    };
    // the amount at stake is the line's price, whatever the buyer claims
    let below = file("big-below", 999_999).await;
    assert!(below.escalation.is_none(), "9,999.99 stays with the desk");
    let at = file("big-1", 100).await;
    let e = at.escalation.clone().unwrap();
    assert_eq!((e.reason.as_str(), e.automatic), ("high_value", true));
    let far = file("far-1", 10_000).await;
    assert_eq!(far.escalation.clone().unwrap().reason, "cross_region");
    // the desk hears of both escalations at once (and of none for the ticket below)
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        s.platform
            .told(3, "complaints-desk")
            .await
            .iter()
            .filter(|t| *t == "complaint_escalated")
            .count()
            == 2
    })
    .await;

    let mut c = s.client();
    c.claim_complaint(authed(
        ClaimComplaintRequest {
            name: at.name.clone(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let ruling = |name: &str| IssueRulingRequest {
        name: name.into(),
        basis: "the item was never delivered".into(),
        liability: Liability::Carrier as i32,
        outcome: RulingOutcome::BuyerUpheld as i32,
        request_id: rid(),
        ..Default::default()
    };
    let err = c
        .issue_ruling(authed(ruling(&at.name), &s.arbitrator))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(
        s.get(&at.name).await.state,
        ComplaintState::Investigating as i32
    );
    let ruled = c
        .issue_ruling(authed(ruling(&at.name), &s.expert))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ruled.ruling.unwrap().arbitrator_id, "arb-expert");

    // membership may come with the token instead: the identity provider's group claim
    c.claim_complaint(authed(
        ClaimComplaintRequest {
            name: far.name.clone(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    let elsewhere = s.world.token(Role::Arbitrator, "arb-9");
    let err = c
        .issue_ruling(authed(ruling(&far.name), &elsewhere))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let in_group = s
        .world
        .token_in_groups(Role::Arbitrator, "arb-9", &["expert"]);
    let ruled = c
        .issue_ruling(authed(ruling(&far.name), &in_group))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ruled.ruling.unwrap().arbitrator_id, "arb-9");
}
