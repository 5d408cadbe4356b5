//! Filing a repair: the warranty decided from the platform's facts (the line's own
//! warranty, the merchant's policy, the buyer's report of accidental damage), a number
//! to look it up by, idempotent filing, one open repair per line, bad input refused
//! with every field named and nothing written, and the merchant's formal answer.

use crate::harness::{Suite, order, repair, repair_point, rid};
use aftersales_proto::aftersales::repairs::v1::{
    AcceptRepairRequest, CreateRepairRequest, DeclineRepairRequest, GetRepairRequest,
    ListRepairAuditRequest, RepairState,
};
use kit::auth::Role;
use testkit::{authed, bad_fields};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn the_warranty_comes_from_the_platforms_facts_and_decides_what_is_free() {
    let s = Suite::start(&[]).await;
    s.platform.put_order(order("in-1", 30, Some(300))).await;
    s.platform.put_order(order("old-1", 800, Some(-10))).await;
    s.platform.put_order(order("drop-1", 30, Some(300))).await;
    let within = s.file("in-1").await;
    assert_eq!(within.state, RepairState::Requested as i32);
    assert!(within.within_warranty && within.free_of_charge);
    assert!(
        within.repair_number.starts_with("WX"),
        "{}",
        within.repair_number
    );
    assert!(within.warranty_until.is_some());
    assert_eq!(within.clock.as_ref().unwrap().kind, "first_response");
    let expired = s.file("old-1").await;
    assert!(!expired.within_warranty && !expired.free_of_charge);
    let dropped = s
        .client()
        .create_repair(authed(
            CreateRepairRequest {
                accidental_damage: true,
                ..repair("drop-1")
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        dropped.within_warranty && !dropped.free_of_charge,
        "buyer-caused: paid"
    );

    // by its number, for its own parties only
    let by_number = |token: &str| {
        let mut c = s.client();
        let (n, t) = (within.repair_number.clone(), token.to_string());
        async move {
            c.get_repair(authed(
                GetRepairRequest {
                    repair_number: n,
                    ..Default::default()
                },
                &t,
            ))
            .await
        }
    };
    assert_eq!(
        by_number(&s.buyer).await.unwrap().into_inner().name,
        within.name
    );
    assert_eq!(
        by_number(&s.merchant).await.unwrap().into_inner().name,
        within.name
    );
    for other in [
        s.world.token(Role::Buyer, "buyer-2"),
        s.world.token(Role::Merchant, "merchant-2"),
    ] {
        assert_eq!(by_number(&other).await.unwrap_err().code(), Code::NotFound);
    }
}

#[tokio::test]
async fn one_open_repair_per_line_filed_once_however_often_it_is_sent() {
    let s = Suite::start(&[]).await;
    s.platform.put_order(order("o-1", 30, Some(300))).await;
    let first = repair("o-1");
    let calls = (0..5).map(|_| {
        let (mut c, r, who) = (s.client(), first.clone(), s.buyer.clone());
        tokio::spawn(async move { c.create_repair(authed(r, &who)).await })
    });
    let mut names = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(a) => names.push(a.into_inner().name),
            Err(e) => assert_eq!(e.code(), Code::Aborted, "{e:?}"),
        }
    }
    assert!(!names.is_empty() && names.iter().all(|n| *n == names[0]));
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.repairs").await, 1);
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.audit").await, 1);
    // another filing for the same line, while the first is open
    let err = s
        .client()
        .create_repair(authed(repair("o-1"), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "REPAIR_ALREADY_OPEN"
    );
    // declined, the line may be filed again
    s.client()
        .decline_repair(authed(
            DeclineRepairRequest {
                name: names[0].clone(),
                reason: "the fault is a software setting: see the manual, p. 12".into(),
                request_id: rid(),
            },
            &s.merchant,
        ))
        .await
        .unwrap();
    // the buyer is told why, and what they can do
    let told = s
        .platform
        .told_params(1, "buyer-1", "repair_declined")
        .await;
    assert_eq!(
        told.get("reason").map(String::as_str),
        Some("the fault is a software setting: see the manual, p. 12")
    );
    assert!(
        told.get("what_next")
            .is_some_and(|w| w.contains("complaint")),
        "{told:?}"
    );
    let again = s.file("o-1").await;
    assert_ne!(again.name, names[0]);
}

#[tokio::test]
async fn bad_input_names_every_field_and_steps_out_of_turn_name_the_state() {
    let s = Suite::start(&[]).await;
    s.platform.put_order(order("o-2", 30, Some(300))).await;
    let err = s
        .client()
        .create_repair(authed(
            CreateRepairRequest {
                order_id: "o-2".into(),
                request_id: "not-a-uuid".into(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        ["fault_description", "order_line_id", "request_id"]
    );
    let err = s
        .client()
        .create_repair(authed(
            CreateRepairRequest {
                order_line_id: "l9".into(),
                ..repair("o-2")
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["order_line_id"], "no such line");
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.repairs").await, 0);

    let r = s.file("o-2").await;
    let err = s
        .client()
        .decline_repair(authed(
            DeclineRepairRequest {
                name: r.name.clone(),
                reason: String::new(),
                request_id: rid(),
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["reason"]);
    // the buyer must be told where to send it
    let err = s
        .client()
        .accept_repair(authed(
            AcceptRepairRequest {
                name: r.name.clone(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        [
            "repair_address.city",
            "repair_address.contact_name",
            "repair_address.phone",
            "repair_address.street"
        ]
    );
    let accepted = s
        .client()
        .accept_repair(authed(
            AcceptRepairRequest {
                name: r.name.clone(),
                repair_address: repair_point(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.repair_address, repair_point());
    assert_eq!(accepted.state, RepairState::Accepted as i32);
    assert!(accepted.first_response_time.is_some());
    let err = s
        .client()
        .decline_repair(authed(
            DeclineRepairRequest {
                name: r.name.clone(),
                reason: "changed our mind".into(),
                request_id: rid(),
            },
            &s.merchant,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let info = err.get_details_precondition_failure().unwrap();
    assert_eq!(info.violations[0].subject, "ACCEPTED");
    assert_eq!(s.get(&r.name).await.state, RepairState::Accepted as i32);
    let trail = s
        .client()
        .list_repair_audit(authed(
            ListRepairAuditRequest {
                parent: r.name.clone(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<_> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "accept"]);
}

#[tokio::test]
async fn a_lost_voucher_is_replaced_by_the_platforms_records_or_refused_with_nothing_written() {
    let s = Suite::start(&[]).await;
    let now = chrono::Utc::now();
    let mut recorded = order("v-1", 30, Some(300));
    recorded.paid_time = crate::harness::ts(now - chrono::Duration::days(33));
    recorded.shipped_time = crate::harness::ts(now - chrono::Duration::days(32));
    recorded.carrier_code = "sf".into();
    recorded.tracking_number = "SF-ORDER-1".into();
    s.platform.put_order(recorded).await;
    // no payment time on record: the payment record cannot stand in
    let mut unpaid = order("v-2", 30, Some(300));
    unpaid.shipped_time = crate::harness::ts(now - chrono::Duration::days(32));
    s.platform.put_order(unpaid).await;
    let lost = |o: &str| CreateRepairRequest {
        purchase_voucher_lost: true,
        ..repair(o)
    };
    let r = s
        .client()
        .create_repair(authed(lost("v-1"), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    let check = r.voucher_check.unwrap();
    assert_eq!(
        check.verified_by,
        ["order", "payment_record", "logistics_record"]
    );
    assert!(check.verify_time.is_some());
    let err = s
        .client()
        .create_repair(authed(lost("v-2"), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "VOUCHER_NOT_VERIFIABLE"
    );
    assert!(
        err.message().contains("payment_record") || {
            let p = err.get_details_precondition_failure().unwrap();
            p.violations[0]
                .description
                .contains("payment_record, logistics_record")
        }
    );
    assert_eq!(s.scalar("SELECT count(*) FROM {s}.repairs").await, 1);
    // with the voucher in hand the same order files as ever
    assert!(s.file("v-2").await.voucher_check.is_none());
}
