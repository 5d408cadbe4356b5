//! Eligibility boundaries, illegal transitions, races, authorisation, merchant policies
//! and disputes (issue 5), over real gRPC, Postgres and Redis.

use std::collections::BTreeSet;

use crate::harness::{Suite, order, request, rid, rule};
use aftersales_proto::aftersales::{
    common::v1::{Address, CaseContext, EventEnvelope},
    complaints::v1::{Ruling, RulingIssued, RulingOutcome},
    platform::v1::SpecialGoodsFlag,
    returns::v1::{
        AppealReturnRequest, ApproveReturnRequest, CancelReturnRequest, DisputeOpened,
        GetMerchantPolicyRequest, GetReturnRequest, InspectReturnRequest, ListReturnsRequest,
        MerchantPolicy, RejectReturnRequest, ReturnKind, ReturnReason, ReturnState,
        ReviseReturnRequest, UpsertMerchantPolicyRequest,
    },
};
use kit::auth::Role;
use prost::Message;
use testkit::authed;
use tonic::Code;

#[tokio::test]
async fn the_no_reason_window_is_seven_days_and_excludes_special_goods() {
    let s = Suite::start(&[]).await;
    // Signed for exactly 7 days ago: today is day 7 of the window, which ends tonight at
    // 24:00 Beijing time. 8 days ago: the window ended last midnight.
    s.put_order(order("day7", 7 * 86_400, 1, &[])).await;
    s.put_order(order("day8", 8 * 86_400, 1, &[])).await;
    s.put_order(order(
        "fresh",
        86_400,
        1,
        &[SpecialGoodsFlag::FreshPerishable],
    ))
    .await;
    s.put_order(order("old", 30 * 86_400, 2, &[])).await;
    let ok = s
        .create(ReturnKind::ReturnRefund, "day7", ReturnReason::NoReason)
        .await
        .unwrap();
    assert_eq!(ok.eligibility_rule, "no_reason_window");
    let end = ok.window_end_time.unwrap().seconds;
    assert_eq!(
        (end + 8 * 3600) % 86_400,
        0,
        "the window ends at midnight Beijing time"
    );
    let e = s
        .create(ReturnKind::ReturnRefund, "day8", ReturnReason::NoReason)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), rule(&e).as_str()),
        (Code::FailedPrecondition, "NO_REASON_WINDOW_CLOSED")
    );
    let e = s
        .create(ReturnKind::Exchange, "fresh", ReturnReason::NoReason)
        .await
        .unwrap_err();
    assert_eq!(rule(&e), "SPECIAL_GOODS");
    // quality problems are not bound by the 7 days, special goods or not
    assert!(
        s.create(
            ReturnKind::ReturnRefund,
            "fresh",
            ReturnReason::DamagedInTransit
        )
        .await
        .is_ok()
    );
    assert!(
        s.create(
            ReturnKind::ReturnRefund,
            "old",
            ReturnReason::NotAsDescribed
        )
        .await
        .is_ok()
    );
    assert_eq!(
        rule(
            &s.create(ReturnKind::ReturnRefund, "old", ReturnReason::NoReason)
                .await
                .unwrap_err()
        ),
        "NO_REASON_WINDOW_CLOSED"
    );
    // refund-only reasons need the refund-only kind
    let e = s
        .create(ReturnKind::ReturnRefund, "old", ReturnReason::Counterfeit)
        .await
        .unwrap_err();
    assert_eq!(rule(&e), "REASON_NEEDS_REFUND_ONLY");
}

#[tokio::test]
async fn units_cannot_be_requested_twice_even_by_racing_calls() {
    let s = Suite::start(&[]).await;
    // demo-1 line l1 has 2 units: 10 concurrent requests for 1 unit each, 2 succeed
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (mut c, token) = (s.client(), s.buyer.clone());
        calls.spawn(async move {
            c.create_return(authed(
                request(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason),
                &token,
            ))
            .await
        });
    }
    let mut ok = 0;
    while let Some(r) = calls.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(rule(&e), "QUANTITY_EXCEEDS_RETURNABLE", "{e:?}"),
        }
    }
    assert_eq!(ok, 2);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.returns").await, 2);
    // cancelling one frees its unit
    let name = s
        .client()
        .list_returns(authed(ListReturnsRequest::default(), &s.buyer))
        .await
        .unwrap()
        .into_inner()
        .returns[0]
        .name
        .clone();
    s.client()
        .cancel_return(authed(
            CancelReturnRequest {
                name,
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap();
    assert!(
        s.create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn two_approvals_racing_make_one_transition_and_one_refund() {
    let s = Suite::start(&[]).await;
    let r = s
        .create(
            ReturnKind::RefundOnly,
            "demo-4",
            ReturnReason::NotShippedInTime,
        )
        .await
        .unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (mut c, token, name) = (s.client(), s.merchant.clone(), r.name.clone());
        calls.spawn(async move {
            c.approve_return(authed(
                ApproveReturnRequest {
                    name,
                    request_id: rid(),
                    ..Default::default()
                },
                &token,
            ))
            .await
        });
    }
    let mut ok = 0;
    while let Some(res) = calls.join_next().await {
        match res.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Code::FailedPrecondition),
        }
    }
    assert_eq!(ok, 1, "exactly one approval");
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'approve'")
            .await,
        1
    );
    s.until(&r.name, ReturnState::Completed).await;
    assert_eq!(s.refunds_of(&r.name).await.len(), 1, "one refund request");
}

#[tokio::test]
async fn an_approval_racing_the_auto_approve_timer_happens_once() {
    let s = Suite::start(&[("RETURNS_CLOCK_MERCHANT_REVIEW", "1s")]).await;
    let r = s
        .create(
            ReturnKind::RefundOnly,
            "demo-4",
            ReturnReason::NotShippedInTime,
        )
        .await
        .unwrap();
    // keep approving around the moment the clock runs out
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut approved_by_hand = 0;
    while std::time::Instant::now() < deadline {
        if s.approve(&r.name).await.is_ok() {
            approved_by_hand += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.until(&r.name, ReturnState::Completed).await;
    let approvals = s
        .scalar("SELECT count(*) FROM {s}.audit WHERE action IN ('approve', 'auto_approve')")
        .await;
    assert_eq!(
        approvals, 1,
        "one approval transition ({approved_by_hand} by hand)"
    );
    assert_eq!(s.refunds_of(&r.name).await.len(), 1);
}

#[tokio::test]
async fn illegal_transitions_and_foreign_callers_change_nothing() {
    let s = Suite::start(&[]).await;
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let audit_before = s.scalar("SELECT count(*) FROM {s}.audit").await;
    let mut c = s.client();
    let e = c
        .inspect_return(authed(
            InspectReturnRequest {
                name: r.name.clone(),
                result: 1,
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("REQUESTED"),
        "names the current state: {}",
        e.message()
    );
    // another shop and another buyer cannot see it; a buyer cannot approve
    let other_shop = s.world.token(Role::Merchant, "merchant-2");
    let e = c
        .approve_return(authed(
            ApproveReturnRequest {
                name: r.name.clone(),
                request_id: rid(),
                ..Default::default()
            },
            &other_shop,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let other_buyer = s.world.token(Role::Buyer, "buyer-2");
    let e = c
        .get_return(authed(
            aftersales_proto::aftersales::returns::v1::GetReturnRequest {
                name: r.name.clone(),
            },
            &other_buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .approve_return(authed(
            ApproveReturnRequest {
                name: r.name.clone(),
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // a rejection needs a reason
    let e = c
        .reject_return(authed(
            RejectReturnRequest {
                name: r.name.clone(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // an approval of goods needs a return address
    let e = c
        .approve_return(authed(
            ApproveReturnRequest {
                name: r.name.clone(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(s.get(&r.name).await.state, ReturnState::Requested as i32);
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit").await,
        audit_before,
        "nothing written"
    );
    // another buyer's order does not exist for this buyer
    let e = s
        .client()
        .create_return(authed(
            request(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason),
            &other_buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // and a merchant's queue holds only its own requests, soonest deadline first
    let queue = c
        .list_returns(authed(
            ListReturnsRequest {
                order_by: "clock.due_time".into(),
                ..Default::default()
            },
            &other_shop,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(queue.returns.is_empty());
}

#[tokio::test]
async fn merchants_publish_policies_within_the_law() {
    let s = Suite::start(&[]).await;
    let mut c = s.client();
    let default = c
        .get_merchant_policy(authed(
            GetMerchantPolicyRequest {
                name: "merchants/merchant-9/policy".into(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            default.no_reason_window_days,
            default.reject_appeal_window_days,
            default.reasonable_use_days
        ),
        (7, 5, 90)
    );
    let policy = |days: u32, merchant: &str| UpsertMerchantPolicyRequest {
        policy: Some(MerchantPolicy {
            name: format!("merchants/{merchant}/policy"),
            no_reason_window_days: days,
            review_promise: 2,
            exchange_allowed: true,
            ..Default::default()
        }),
        request_id: rid(),
    };
    let e = c
        .upsert_merchant_policy(authed(policy(6, "merchant-1"), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .upsert_merchant_policy(authed(policy(15, "merchant-2"), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let p = c
        .upsert_merchant_policy(authed(policy(15, "merchant-1"), &s.merchant))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((p.no_reason_window_days, p.review_promise), (15, 2));
    // the 24 h promise sets the review clock; the 15-day window admits a 10-day-old order
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-2", ReturnReason::NoReason)
        .await
        .unwrap();
    let clock = r.clock.unwrap();
    assert_eq!(
        clock.due_time.unwrap().seconds - r.create_time.unwrap().seconds,
        24 * 3600
    );
}

/// A merchant's return contact (a person's name and phone) is read by the merchant
/// itself and platform staff; a buyer or another shop gets the policy without it (the
/// buyer receives it with the approval of their own case).
#[tokio::test]
async fn a_merchants_return_contact_is_shown_to_itself_and_staff_only() {
    let s = Suite::start(&[]).await;
    let mut c = s.client();
    c.upsert_merchant_policy(authed(
        UpsertMerchantPolicyRequest {
            policy: Some(MerchantPolicy {
                name: "merchants/merchant-1/policy".into(),
                return_address: Some(Address {
                    contact_name: "Wang Li".into(),
                    phone: "138-0000-0000".into(),
                    city: "Hangzhou".into(),
                    street: "8 Depot Rd".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    let read = |token: String| {
        let mut c = c.clone();
        async move {
            c.get_merchant_policy(authed(
                GetMerchantPolicyRequest {
                    name: "merchants/merchant-1/policy".into(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    for token in [s.merchant.clone(), s.agent.clone()] {
        let address = read(token).await.return_address.expect("shown");
        assert_eq!(
            (address.contact_name.as_str(), address.phone.as_str()),
            ("Wang Li", "138-0000-0000")
        );
    }
    let other_shop = s.world.token(Role::Merchant, "merchant-2");
    for token in [s.buyer.clone(), other_shop] {
        let p = read(token).await;
        assert_eq!(
            p.return_address, None,
            "no contact outside the shop and the platform"
        );
        assert!(p.update_time.is_some(), "the rest of the policy is public");
    }
    // the buyer gets it with their approval
    let r = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    s.approve(&r.name).await.unwrap();
    let approval = c
        .get_return(authed(
            GetReturnRequest {
                name: r.name.clone(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner()
        .approval
        .unwrap();
    assert!(
        approval.return_address.is_some(),
        "the approval carries the address"
    );
}

#[tokio::test]
async fn an_appeal_opens_a_dispute_whose_ruling_comes_back_as_an_event() {
    let s = Suite::start(&[]).await;
    let r = s
        .create(
            ReturnKind::ReturnRefund,
            "demo-1",
            ReturnReason::NotAsDescribed,
        )
        .await
        .unwrap();
    let mut c = s.client();
    c.reject_return(authed(
        RejectReturnRequest {
            name: r.name.clone(),
            reason: "matches the photos".into(),
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    let disputed = c
        .appeal_return(authed(
            AppealReturnRequest {
                name: r.name.clone(),
                statement: "the colour is wrong".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(disputed.state, ReturnState::InDispute as i32);
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        testkit::published(&s.world, "returns")
            .await
            .iter()
            .any(|e| e.r#type == "aftersales.returns.v1.DisputeOpened")
    })
    .await;
    let opened = testkit::published(&s.world, "returns")
        .await
        .into_iter()
        .find(|e| e.r#type == "aftersales.returns.v1.DisputeOpened")
        .map(|e| DisputeOpened::decode(e.data.as_slice()).unwrap())
        .unwrap();
    assert_eq!(opened.statement, "the colour is wrong");
    assert_eq!(opened.context.unwrap().case_name, r.name);

    // complaints (a later issue) rules for the buyer: the ruling arrives on its stream
    let ruling = RulingIssued {
        context: Some(CaseContext {
            case_name: "complaints/77".into(),
            ..Default::default()
        }),
        subject_case: r.name.clone(),
        ruling: Some(Ruling {
            outcome: RulingOutcome::BuyerUpheld as i32,
            summary: "not as described".into(),
            ..Default::default()
        }),
    };
    let envelope = EventEnvelope {
        id: uuid::Uuid::new_v4().to_string(),
        source: "complaints".into(),
        r#type: "aftersales.complaints.v1.RulingIssued".into(),
        subject: "complaints/77".into(),
        data: ruling.encode_to_vec(),
        ..Default::default()
    };
    let key = kit::outbox::stream_key(&s.world.redis_prefix(), "complaints");
    let mut redis = testkit::redis().await;
    for _ in 0..2 {
        // delivered twice: applied once
        let _: String = redis::cmd("XADD")
            .arg(&key)
            .arg("*")
            .arg("id")
            .arg(&envelope.id)
            .arg("envelope")
            .arg(envelope.encode_to_vec())
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let r = s.until(&r.name, ReturnState::AwaitingReturnShipment).await;
    assert_eq!(r.dispute, "complaints/77");
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'ruling'")
            .await,
        1
    );
    let states: BTreeSet<i64> = [s.get(&r.name).await.state as i64].into();
    assert!(states.contains(&(ReturnState::AwaitingReturnShipment as i64)));
}

#[tokio::test]
async fn a_rejected_request_can_be_revised_within_the_units_left() {
    let s = Suite::start(&[]).await;
    let first = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let other = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let mut c = s.client();
    c.reject_return(authed(
        RejectReturnRequest {
            name: first.name.clone(),
            reason: "no photo".into(),
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    // 2 units: the other request holds one, so this one cannot grow to 2
    let grow = ReviseReturnRequest {
        name: first.name.clone(),
        quantity: 2,
        request_id: rid(),
        ..Default::default()
    };
    let e = c.revise_return(authed(grow, &s.buyer)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(
        s.get(&first.name).await.state,
        ReturnState::Rejected as i32,
        "unchanged"
    );
    // a revision with another reason goes back to the merchant, on a fresh review clock
    let revise = ReviseReturnRequest {
        name: first.name.clone(),
        reason: ReturnReason::QualityDefect as i32,
        description: "seam torn, photo attached".into(),
        request_id: rid(),
        ..Default::default()
    };
    let revised = c
        .revise_return(authed(revise, &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revised.state, ReturnState::Requested as i32);
    assert_eq!(
        revised.eligibility_rule,
        "quality_reasonable_use:quality_defect"
    );
    assert_eq!(revised.clock.unwrap().kind, "merchant_review");
    assert!(revised.rejection.is_none());
    // the other request is untouched
    assert_eq!(
        s.get(&other.name).await.state,
        ReturnState::Requested as i32
    );
}

#[tokio::test]
async fn a_repeated_create_is_answered_once_and_a_reused_id_is_refused() {
    let s = Suite::start(&[]).await;
    let req = request(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (mut c, token, req) = (s.client(), s.buyer.clone(), req.clone());
        calls.spawn(async move {
            c.create_return(authed(req, &token))
                .await
                .map(|r| r.into_inner().name)
        });
    }
    let mut names = BTreeSet::new();
    while let Some(r) = calls.join_next().await {
        names.insert(r.unwrap().expect("a duplicate gets the first answer"));
    }
    assert_eq!(names.len(), 1);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.returns").await, 1);
    assert_eq!(
        s.scalar("SELECT claimed::int8 FROM {s}.line_units").await,
        1,
        "one unit claimed"
    );
    let mut other = req.clone();
    other.quantity = 2;
    let e = s
        .client()
        .create_return(authed(other, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}

#[tokio::test]
async fn the_merchant_queue_puts_the_deadline_that_breaches_first_first() {
    let s = Suite::start(&[]).await;
    let mut c = s.client();
    // three requests; the second is approved, so its clock (3 working days to ship back)
    // runs longer than the others' 48 h review
    let a = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let b = s
        .create(
            ReturnKind::ReturnRefund,
            "demo-2",
            ReturnReason::QualityDefect,
        )
        .await
        .unwrap();
    s.approve(&b.name).await.unwrap();
    let d = s
        .create(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_returns(authed(
                ListReturnsRequest {
                    order_by: "clock.due_time".into(),
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                },
                &s.merchant,
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(
            page.returns
                .into_iter()
                .map(|r| (r.name, r.clock.unwrap().due_time.unwrap().seconds)),
        );
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [a.name.as_str(), d.name.as_str(), b.name.as_str()],
        "{seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1));
    // and by state: only those waiting for the merchant's review
    let requested = c
        .list_returns(authed(
            ListReturnsRequest {
                states: vec![ReturnState::Requested as i32],
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(requested.returns.len(), 2);
}
