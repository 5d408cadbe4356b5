//! The refund ledger's invariants under concurrency (issue 6): one refund and one payout
//! for any number of identical requests; never more refunded than paid, whatever races.

use std::collections::BTreeSet;

use crate::harness::{Harness, cny, goods};
use aftersales_proto::aftersales::refunds::v1::{
    CreateRefundRequest, ListRefundsRequest, RefundKind, RefundState,
};
use testkit::authed;
use tokio::task::JoinSet;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn fifty_identical_requests_make_one_refund_and_one_payout() {
    let h = Harness::start(&[]).await;
    let req = goods("returns/r-1", 19_900);
    let mut calls = JoinSet::new();
    for _ in 0..50 {
        let (mut c, req, token) = (h.client(), req.clone(), h.service.clone());
        calls.spawn(async move { c.create_refund(authed(req, &token)).await });
    }
    let mut names = BTreeSet::new();
    while let Some(r) = calls.join_next().await {
        names.insert(
            r.unwrap()
                .expect("every duplicate gets the answer")
                .into_inner()
                .name,
        );
    }
    assert_eq!(names.len(), 1, "all 50 callers see the same refund");
    let name = names.into_iter().next().unwrap();
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.refunds").await, 1);
    assert_eq!(
        h.scalar("SELECT goods_refunded FROM {s}.lines").await,
        19_900
    );

    let settled = h.until_state(&name, RefundState::Settled).await;
    let payouts = h.payouts(&settled.payout_id, "").await;
    assert_eq!(payouts.payouts.len(), 1, "one payout at the gateway");
    assert_eq!(payouts.submit_calls, 1, "submitted once");
    assert_eq!(payouts.payouts[0].amount, cny(19_900));
    assert_eq!(payouts.payouts[0].original_payment_ref, "pay-demo-1");
}

#[tokio::test]
async fn fifty_different_requests_never_exceed_the_paid_amount() {
    let h = Harness::start(&[]).await;
    // demo-1 line l1: 2 x 199.00 = 398.00 paid. 50 refunds of 10.00 race: 39 fit.
    let mut calls = JoinSet::new();
    for i in 0..50 {
        let (mut c, token) = (h.client(), h.service.clone());
        let req = goods(&format!("returns/r-{i}"), 1_000);
        calls.spawn(async move { c.create_refund(authed(req, &token)).await });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = calls.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(s) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
                let info = s.get_details_error_info().expect("error info");
                assert_eq!(info.reason, "REFUND_EXCEEDS_PAID");
                assert!(
                    s.message().contains("800 minor units remain"),
                    "{}",
                    s.message()
                );
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (39, 11));
    assert_eq!(
        h.scalar("SELECT sum(amount_minor)::int8 FROM {s}.refunds")
            .await,
        39_000
    );
    assert_eq!(
        h.scalar("SELECT goods_refunded FROM {s}.lines").await,
        39_000
    );

    // The last 8.00 still fits; one more minor unit does not.
    let mut c = h.client();
    c.create_refund(authed(goods("returns/r-last", 800), &h.service))
        .await
        .expect("exactly the rest");
    let err = c
        .create_refund(authed(goods("returns/r-over", 1), &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        h.scalar("SELECT sum(amount_minor)::int8 FROM {s}.refunds")
            .await,
        39_800
    );
}

#[tokio::test]
async fn shipping_and_compensation_have_their_own_caps() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    // The goods are refunded in full; the shipping fee (10.00) is a separate cap.
    c.create_refund(authed(goods("returns/r-1", 39_800), &h.service))
        .await
        .unwrap();
    let shipping = |minor: i64, case: &str| CreateRefundRequest {
        kind: RefundKind::ShippingFee as i32,
        amount: cny(minor),
        ..goods(case, 0)
    };
    c.create_refund(authed(shipping(1_000, "returns/r-1"), &h.service))
        .await
        .unwrap();
    let err = c
        .create_refund(authed(shipping(1, "returns/r-2"), &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // A late penalty is compensation: not drawn on the goods cap, once per case.
    let penalty = |case: &str| CreateRefundRequest {
        kind: RefundKind::LatePenalty as i32,
        amount: cny(597),
        reason: "merchant 3 days late".into(),
        ..goods(case, 0)
    };
    c.create_refund(authed(penalty("returns/r-1"), &h.service))
        .await
        .unwrap();
    let again = c
        .create_refund(authed(penalty("returns/r-1"), &h.service))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(h.scalar("SELECT compensation FROM {s}.lines").await, 597);
}

/// What a buyer paid to send goods back is not the order's shipping fee: a free-shipping
/// order's line (or one whose fee was refunded already) still gets it back; once a case.
#[tokio::test]
async fn return_shipping_is_not_capped_by_the_lines_fee_and_paid_once_a_case() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let back = |minor: i64, case: &str| CreateRefundRequest {
        kind: RefundKind::ReturnShipping as i32,
        amount: cny(minor),
        reason: "return shipping paid by the seller".into(),
        ..goods(case, 0)
    };
    // the line's shipping fee (10.00) refunded in full, then 26.00 of return shipping
    c.create_refund(authed(
        CreateRefundRequest {
            kind: RefundKind::ShippingFee as i32,
            amount: cny(1_000),
            ..goods("returns/r-1", 0)
        },
        &h.service,
    ))
    .await
    .unwrap();
    let r = c
        .create_refund(authed(back(2_600, "returns/r-1"), &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.kind, RefundKind::ReturnShipping as i32);
    let again = c
        .create_refund(authed(back(2_600, "returns/r-1"), &h.service))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");
    // never more than the goods sent back (the line's 398.00)
    let dear = c
        .create_refund(authed(back(39_801, "returns/r-2"), &h.service))
        .await
        .unwrap_err();
    assert_eq!(dear.code(), Code::FailedPrecondition, "{dear:?}");
    assert_eq!(
        dear.get_details_error_info().unwrap().reason,
        "REFUND_EXCEEDS_PAID"
    );
    h.until_state(&r.name, RefundState::Settled).await;
    assert_eq!(
        h.scalar("SELECT shipping_refunded FROM {s}.lines").await,
        1_000,
        "the line's shipping cap is untouched by it"
    );
}

#[tokio::test]
async fn bad_requests_name_every_bad_field_and_write_nothing() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let err = c
        .create_refund(authed(
            CreateRefundRequest {
                kind: 0,
                source_case: "nonsense".into(),
                order_id: String::new(),
                amount: cny(-5),
                reason: String::new(),
                request_id: "not-a-uuid".into(),
                ..Default::default()
            },
            &h.service,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: BTreeSet<String> = err
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    for f in [
        "kind",
        "source_case",
        "order_id",
        "amount",
        "reason",
        "request_id",
    ] {
        assert!(fields.contains(f), "{f} missing from {fields:?}");
    }
    // An order the directory does not know, a line it does not have, another currency.
    let unknown = c
        .create_refund(authed(
            CreateRefundRequest {
                order_id: "nope".into(),
                ..goods("returns/x", 1)
            },
            &h.service,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let line = c
        .create_refund(authed(
            CreateRefundRequest {
                order_line_id: "l9".into(),
                ..goods("returns/x", 1)
            },
            &h.service,
        ))
        .await
        .unwrap_err();
    assert_eq!(line.code(), Code::InvalidArgument);
    let mut usd = goods("returns/x", 1);
    usd.amount.as_mut().unwrap().currency = "USD".into();
    let usd = c.create_refund(authed(usd, &h.service)).await.unwrap_err();
    assert_eq!(usd.code(), Code::InvalidArgument);
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.refunds").await, 0);
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.lines").await, 0);

    // The same request_id with another payload is refused, not replayed.
    let first = goods("returns/r-1", 100);
    c.create_refund(authed(first.clone(), &h.service))
        .await
        .unwrap();
    let reused = CreateRefundRequest {
        amount: cny(200),
        ..first
    };
    let err = c
        .create_refund(authed(reused, &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn parties_see_only_their_own_refunds() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let refund = c
        .create_refund(authed(goods("returns/r-1", 100), &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (refund.buyer_id.as_str(), refund.merchant_id.as_str()),
        ("buyer-1", "merchant-1")
    );

    let get = |token: String| {
        let (mut c, name) = (h.client(), refund.name.clone());
        async move {
            c.get_refund(authed(
                aftersales_proto::aftersales::refunds::v1::GetRefundRequest { name },
                &token,
            ))
            .await
        }
    };
    use kit::auth::Role;
    assert!(get(h.world.token(Role::Buyer, "buyer-1")).await.is_ok());
    assert!(
        get(h.world.token(Role::Merchant, "merchant-1"))
            .await
            .is_ok()
    );
    for (role, sub) in [(Role::Buyer, "buyer-2"), (Role::Merchant, "merchant-2")] {
        let err = get(h.world.token(role, sub)).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{role:?} {sub}");
    }
    // Buyers and merchants cannot create refunds; partners cannot read them.
    let err = c
        .create_refund(authed(
            goods("returns/r-2", 100),
            &h.world.token(Role::Buyer, "buyer-1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = get(h.world.partner_token("p", "SF")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // A buyer's list is his own whatever he filters on; another buyer's is empty.
    let list = |token: String| {
        let mut c = h.client();
        async move {
            c.list_refunds(authed(
                ListRefundsRequest {
                    order_id: "demo-1".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    assert_eq!(
        list(h.world.token(Role::Buyer, "buyer-1"))
            .await
            .refunds
            .len(),
        1
    );
    assert!(
        list(h.world.token(Role::Buyer, "buyer-2"))
            .await
            .refunds
            .is_empty()
    );
    assert!(
        list(h.world.token(Role::Merchant, "merchant-2"))
            .await
            .totals
            .is_empty()
    );
}

#[tokio::test]
async fn lists_page_newest_first_with_totals_over_all_pages() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let mut made = Vec::new();
    for i in 0..5 {
        let r = c
            .create_refund(authed(
                goods(&format!("returns/r-{i}"), 1_000 + i),
                &h.service,
            ))
            .await
            .unwrap()
            .into_inner();
        made.push(r.name);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_refunds(authed(
                ListRefundsRequest {
                    merchant_id: "merchant-1".into(),
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                },
                &h.agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.totals.len(), 1);
        assert_eq!(page.totals[0].count, 5);
        assert_eq!(page.totals[0].requested, cny(5_010));
        seen.extend(page.refunds.into_iter().map(|r| r.name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    made.reverse();
    assert_eq!(seen, made, "newest first, each once");

    // Staff must narrow the list.
    let err = c
        .list_refunds(authed(ListRefundsRequest::default(), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}
