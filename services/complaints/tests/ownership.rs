//! First-contact ownership (seed 002): the first agent who claims a ticket owns it until
//! it closes, whatever the race; only the owner (or an admin, with a reason) hands it on.

use crate::harness::{Suite, rid};
use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, ComplaintState, GetComplaintRequest, TransferComplaintRequest,
};
use kit::auth::Role;
use testkit::authed;
use tokio::task::JoinSet;
use tonic::Code;

#[tokio::test]
async fn ten_agents_claiming_at_once_make_one_owner_and_one_audit_row() {
    let s = Suite::start(&[]).await;
    let t = s.file("demo-1").await;
    assert_eq!(t.state, ComplaintState::Open as i32);
    assert!(t.ticket_number.starts_with("TS"), "{}", t.ticket_number);
    let mut calls = JoinSet::new();
    for i in 0..10 {
        let (mut c, token, name) = (
            s.client(),
            s.world.token(Role::Agent, &format!("cs-{i}")),
            t.name.clone(),
        );
        calls.spawn(async move {
            c.claim_complaint(authed(
                ClaimComplaintRequest {
                    name,
                    request_id: rid(),
                },
                &token,
            ))
            .await
        });
    }
    let (mut won, mut refused) = (Vec::new(), 0);
    while let Some(r) = calls.join_next().await {
        match r.unwrap() {
            Ok(c) => won.push(c.into_inner().owner_agent_id),
            Err(e) => {
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((won.len(), refused), (1, 9), "exactly one owner");
    let owner = won.pop().unwrap();
    let now = s.get(&t.name).await;
    assert_eq!(now.owner_agent_id, owner);
    assert_eq!(now.state, ComplaintState::Investigating as i32);
    assert!(now.claim_time.is_some(), "the first response");
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'claim'")
            .await,
        1
    );

    // a non-owner's transfer is refused and changes nothing
    let other = if owner == "cs-0" { "cs-1" } else { "cs-0" };
    let transfer = |token: &str| {
        let mut c = s.client();
        let req = authed(
            TransferComplaintRequest {
                name: t.name.clone(),
                to_agent_id: "cs-9".into(),
                reason: "I know this merchant".into(),
                request_id: rid(),
            },
            token,
        );
        async move { c.transfer_complaint(req).await }
    };
    let err = transfer(&s.world.token(Role::Agent, other))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(s.get(&t.name).await.owner_agent_id, owner);
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'transfer'")
            .await,
        0
    );
    // the owner hands it on, audited with the reason; the new owner is told
    let moved = transfer(&s.world.token(Role::Agent, &owner))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.owner_agent_id, "cs-9");
    assert_eq!(
        s.scalar(
            "SELECT count(*) FROM {s}.audit WHERE action = 'transfer' AND reason = 'I know this merchant'"
        )
        .await,
        1
    );
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        s.platform
            .told(3, "cs-9")
            .await
            .contains(&"complaint_transferred".to_string())
    })
    .await;
}

#[tokio::test]
async fn each_party_sees_its_own_tickets_and_the_merchant_no_contact() {
    let s = Suite::start(&[]).await;
    let mut req = crate::harness::complaint("demo-1");
    req.contact = Some(aftersales_proto::aftersales::complaints::v1::Contact {
        name: "Li Lei".into(),
        phone: "139-0000-1111".into(),
        ..Default::default()
    });
    let t = s
        .client()
        .create_complaint(authed(req, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    let read = |token: String, by_number: bool| {
        let mut c = s.client();
        let req = if by_number {
            GetComplaintRequest {
                ticket_number: t.ticket_number.clone(),
                ..Default::default()
            }
        } else {
            GetComplaintRequest {
                name: t.name.clone(),
                ..Default::default()
            }
        };
        async move { c.get_complaint(authed(req, &token)).await }
    };
    let own = read(s.buyer.clone(), true).await.unwrap().into_inner();
    assert_eq!(own.name, t.name, "found by its ticket number");
    assert_eq!(own.contact.unwrap().phone, "139-0000-1111");
    let shop = read(s.merchant.clone(), false).await.unwrap().into_inner();
    assert!(
        shop.contact.is_none(),
        "the merchant gets no contact details"
    );
    for stranger in [
        s.world.token(Role::Buyer, "buyer-2"),
        s.world.token(Role::Merchant, "merchant-2"),
    ] {
        let err = read(stranger, false).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
}

/// A hotline agent files for a buyer (the buyer's own order only); the buyer then sees
/// the ticket as their own.
#[tokio::test]
async fn an_agent_files_for_a_buyer_who_then_sees_it() {
    let s = Suite::start(&[]).await;
    let mut req = crate::harness::complaint("demo-1");
    req.on_behalf_of_buyer_id = "buyer-1".into();
    let t = s
        .client()
        .create_complaint(authed(req, &s.agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.buyer_id, "buyer-1");
    let mine = s
        .client()
        .get_complaint(authed(
            GetComplaintRequest {
                name: t.name.clone(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.name, t.name);
    // for someone who does not own the order: no such order for them
    let mut other = crate::harness::complaint("demo-1");
    other.on_behalf_of_buyer_id = "buyer-2".into();
    let err = s
        .client()
        .create_complaint(authed(other, &s.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // and without naming the buyer at all
    let err = s
        .client()
        .create_complaint(authed(crate::harness::complaint("demo-1"), &s.agent))
        .await
        .unwrap_err();
    assert_eq!(testkit::bad_fields(&err), ["on_behalf_of_buyer_id"]);
}
