//! Compensation and what the platform is owed (issue 6): the late-penalty computation
//! over gRPC, the platform paying first and recovering from the merchant or carrier, and
//! the domain events every change publishes through the outbox.

use std::time::Duration;

use crate::harness::{Harness, cny, goods};
use aftersales_proto::aftersales::refunds::v1::{
    ComputeLatePenaltyRequest, CreateRefundRequest, RecordPlatformAdvanceRequest,
    RecordRecoveryRequest, RecoveryParty, RefundKind, RefundSettled, RefundState,
};
use prost::Message;
use testkit::{authed, eventually};
use tonic::Code;
use tonic_types::StatusExt;

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn late_penalties_are_computed_in_integers_with_half_up_rounding() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let penalty = |minor: i64, days: u32, buyer_caused: bool| {
        let req = ComputeLatePenaltyRequest {
            line_amount: cny(minor),
            late_days: days,
            buyer_caused,
        };
        let token = h.service.clone();
        let mut c = c.clone();
        async move { c.compute_late_penalty(authed(req, &token)).await }
    };
    let owed = |r: Result<tonic::Response<_>, tonic::Status>| {
        let r: aftersales_proto::aftersales::refunds::v1::ComputeLatePenaltyResponse =
            r.unwrap().into_inner();
        (
            r.penalty.unwrap().amount_minor,
            r.chargeable_days,
            r.rate_bp_per_day,
        )
    };
    assert_eq!(owed(penalty(29_900, 0, false).await), (0, 0, 50));
    assert_eq!(owed(penalty(29_900, 1, false).await), (150, 1, 50));
    assert_eq!(owed(penalty(29_900, 10, false).await), (1_495, 10, 50));
    assert_eq!(
        owed(penalty(100, 3, false).await),
        (2, 3, 50),
        "1.5 fen rounds up"
    );
    assert_eq!(
        owed(penalty(29_900, 10, true).await),
        (0, 0, 50),
        "buyer caused it"
    );
    let err = penalty(-1, 1, false).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = c
        .compute_late_penalty(authed(ComputeLatePenaltyRequest::default(), &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn the_platform_pays_first_and_recovers_at_most_what_it_advanced() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let r = c
        .create_refund(authed(goods("returns/r-1", 10_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let advance = |recover_from: RecoveryParty, debtor: &str| RecordPlatformAdvanceRequest {
        name: r.name.clone(),
        recover_from: recover_from as i32,
        debtor_id: debtor.into(),
        reason: "merchant unresponsive; platform refunded first".into(),
        request_id: rid(),
    };
    // The deposit of another merchant cannot owe it.
    let err = c
        .record_platform_advance(authed(
            advance(RecoveryParty::MerchantDeposit, "merchant-2"),
            &h.agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let req = advance(RecoveryParty::MerchantDeposit, "");
    let advanced = c
        .record_platform_advance(authed(req.clone(), &h.agent))
        .await
        .unwrap()
        .into_inner();
    let adv = advanced.advance.clone().expect("advance recorded");
    assert_eq!(adv.debtor_id, "merchant-1");
    assert_eq!(adv.amount, cny(10_000));
    assert_eq!(adv.recovered, cny(0));
    // A replay answers the same; a second advance is refused.
    let replay = c
        .record_platform_advance(authed(req, &h.agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay, advanced);
    let err = c
        .record_platform_advance(authed(advance(RecoveryParty::Carrier, "SF"), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "ALREADY_ADVANCED"
    );

    let recover = |minor: i64| RecordRecoveryRequest {
        name: r.name.clone(),
        amount: cny(minor),
        reference: "deposit deduction 889".into(),
        request_id: rid(),
    };
    let part = c
        .record_recovery(authed(recover(6_000), &h.agent))
        .await
        .unwrap()
        .into_inner();
    let adv = part.advance.unwrap();
    assert_eq!(adv.recovered, cny(6_000));
    assert!(adv.recovered_time.is_none());
    let err = c
        .record_recovery(authed(recover(4_001), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "RECOVERY_EXCEEDS_ADVANCE"
    );
    let full = c
        .record_recovery(authed(recover(4_000), &h.agent))
        .await
        .unwrap()
        .into_inner();
    assert!(
        full.advance.unwrap().recovered_time.is_some(),
        "fully recovered"
    );
    assert_eq!(
        h.scalar("SELECT sum(amount_minor)::int8 FROM {s}.recoveries")
            .await,
        10_000
    );

    // Goodwill is the platform's own money: nothing to recover from anyone.
    let goodwill = c
        .create_refund(authed(
            CreateRefundRequest {
                kind: RefundKind::Goodwill as i32,
                amount: cny(500),
                reason: "sorry for the wait".into(),
                ..goods("complaints/c-1", 0)
            },
            &h.agent,
        ))
        .await
        .unwrap()
        .into_inner();
    let err = c
        .record_platform_advance(authed(
            RecordPlatformAdvanceRequest {
                name: goodwill.name.clone(),
                ..advance(RecoveryParty::Carrier, "SF")
            },
            &h.agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "NOT_RECOVERABLE"
    );
    // Recovery without an advance is refused as well.
    let err = c
        .record_recovery(authed(
            RecordRecoveryRequest {
                name: goodwill.name.clone(),
                ..recover(1)
            },
            &h.agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.get_details_error_info().unwrap().reason, "NO_ADVANCE");
}

#[tokio::test]
async fn insurance_claims_get_a_24_hour_clock_and_every_change_is_published() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let claim = c
        .create_refund(authed(
            CreateRefundRequest {
                kind: RefundKind::ShippingInsurance as i32,
                amount: cny(1_200),
                reason: "return shipping covered by insurance".into(),
                ..goods("returns/r-1", 0)
            },
            &h.service,
        ))
        .await
        .unwrap()
        .into_inner();
    let clock = claim.clock.clone().unwrap();
    let window = clock.due_time.unwrap().seconds - claim.create_time.unwrap().seconds;
    assert_eq!(window, 24 * 3600, "paid within 24 h (seed 002)");
    let goods_refund = c
        .create_refund(authed(goods("returns/r-1", 1_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let due = kit::time::from_ts(&goods_refund.clock.unwrap().due_time.unwrap()).unwrap();
    let created = kit::time::from_ts(&goods_refund.create_time.unwrap()).unwrap();
    let expected = calendar::BusinessCalendar::china_mainland().add_working_days(created, 3);
    assert_eq!(
        due, expected.value,
        "3 working days on the mainland China calendar"
    );
    h.until_state(&claim.name, RefundState::Settled).await;
    h.until_state(&goods_refund.name, RefundState::Settled)
        .await;

    // RefundRequested and RefundSettled for both, on the refunds stream.
    let read = || testkit::published(&h.world, "refunds");
    eventually(Duration::from_secs(10), || async {
        read().await.len() >= 4
    })
    .await;
    let events = read().await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "aftersales.refunds.v1.RefundRequested")
            .count(),
        2
    );
    let settled: Vec<RefundSettled> = events
        .iter()
        .filter(|e| e.r#type == "aftersales.refunds.v1.RefundSettled")
        .map(|e| RefundSettled::decode(e.data.as_slice()).unwrap())
        .collect();
    assert_eq!(settled.len(), 2, "{types:?}");
    assert!(
        settled
            .iter()
            .all(|s| s.source_case == "returns/r-1" && s.merchant_id == "merchant-1")
    );
}
