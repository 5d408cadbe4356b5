//! A free repair end to end through the real suite: requested, accepted with the repair
//! point, the buyer's parcel in through logistics, diagnosed (free: work starts at
//! once), progress pushed to the buyer, the quality check, the parcel back through
//! logistics, accepted by the buyer (RepairCompleted published); and a repair past its
//! due time whose late penalty reaches refunds once, with the right amount; the one
//! extension, refused a second time and after the due time.

use aftersales_proto::aftersales::{
    refunds::v1::{ListRefundsRequest, RefundKind, refunds_service_client::RefundsServiceClient},
    repairs::v1::{
        AcceptRepairedItemRequest, CompleteRepairRequest, DiagnoseRepairRequest,
        ExtendRepairRequest, ReopenRepairRequest, Repair, RepairState, ReportRepairProgressRequest,
        ShipRepairedItemRequest,
    },
};
use testkit::authed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Suite, order, rid};

const BUYER: i32 = 1;

/// Filed, accepted, shipped in and received, diagnosed free: REPAIRING.
async fn repairing(s: &Suite, order_id: &str, tracking: &str) -> Repair {
    let mut c = s.client();
    let r = s.file(order_id).await;
    s.accept(&r.name, false).await;
    s.received(&r.name, tracking).await;
    let diagnosed = c
        .diagnose_repair(authed(
            DiagnoseRepairRequest {
                name: r.name.clone(),
                fault: "a loose display connector".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        diagnosed.state,
        RepairState::Repairing as i32,
        "free: work starts"
    );
    assert_eq!(diagnosed.clock.as_ref().unwrap().kind, "repair_due");
    diagnosed
}

async fn complete(s: &Suite, name: &str) -> Repair {
    s.client()
        .complete_repair(authed(
            CompleteRepairRequest {
                name: name.into(),
                quality_check_passed: true,
                quality_check_note: "display tested for 2 h".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.merchant,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_free_repair_goes_in_through_logistics_and_back_to_an_accepting_buyer() {
    let s = Suite::start(&[]).await;
    s.platform.put_order(order("f-1", 30, Some(300))).await;
    let r = repairing(&s, "f-1", "SF-IN-1").await;
    let mut c = s.client();
    c.report_repair_progress(authed(
        ReportRepairProgressRequest {
            name: r.name.clone(),
            stage: "parts_ordered".into(),
            message: "the connector arrives tomorrow".into(),
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    let done = complete(&s, &r.name).await;
    assert_eq!(done.state, RepairState::ReadyToShip as i32);
    assert_eq!(done.progress.len(), 1);
    assert_eq!(done.penalty_accrued.unwrap().amount_minor, 0, "on time");
    // the buyer cannot accept before the item is back
    let accept = || AcceptRepairedItemRequest {
        name: r.name.clone(),
        request_id: rid(),
    };
    let err = c
        .accept_repaired_item(authed(accept(), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    c.ship_repaired_item(authed(
        ShipRepairedItemRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-OUT-1".into(),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    s.delivered("SF-OUT-1").await;
    s.until(&r.name, |x| {
        x.state == RepairState::AwaitingAcceptance as i32
    })
    .await;
    let closed = c
        .accept_repaired_item(authed(accept(), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.state, RepairState::Completed as i32);
    assert!(closed.close_time.is_some() && !closed.auto_accepted);
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        testkit::published(&s.world, "repairs")
            .await
            .iter()
            .any(|e| e.r#type == "aftersales.repairs.v1.RepairCompleted")
    })
    .await;
    // the buyer heard of every step
    let told = s.platform.told(BUYER, "buyer-1").await;
    for t in [
        "repair_filed",
        "repair_accepted",
        "repair_item_received",
        "repair_started",
        "repair_progress",
        "repair_completed",
        "repair_shipped",
        "repair_delivered",
        "repair_closed",
    ] {
        assert!(told.iter().any(|x| x == t), "{t} missing from {told:?}");
    }
}

#[tokio::test]
async fn a_late_repair_pays_its_penalty_once_and_a_reopen_starts_again() {
    let s = Suite::start(&[("REPAIRS_CLOCK_REPAIR_DUE", "1s")]).await;
    s.platform.put_order(order("late-1", 30, Some(300))).await;
    let r = repairing(&s, "late-1", "SF-IN-2").await;
    s.until(&r.name, |x| {
        x.clock.as_ref().is_some_and(|k| k.kind == "overdue")
    })
    .await;
    let done = complete(&s, &r.name).await;
    // one started day late on 1,000.00: 0.5 %
    assert_eq!(
        (done.late_days, done.penalty_accrued.unwrap().amount_minor),
        (1, 500)
    );
    let refunds = || {
        let mut c = RefundsServiceClient::new(s.refunds.channel());
        let (case, token) = (r.name.clone(), s.agent.clone());
        async move {
            c.list_refunds(authed(
                ListRefundsRequest {
                    source_case: case,
                    page_size: 10,
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .refunds
        }
    };
    testkit::eventually(std::time::Duration::from_secs(20), || async {
        !refunds().await.is_empty()
    })
    .await;
    let paid = refunds().await;
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0].kind, RefundKind::LatePenalty as i32);
    assert_eq!(paid[0].amount.as_ref().unwrap().amount_minor, 500);

    // back to the buyer, who is not satisfied: a free re-repair, clocks again
    let mut c = s.client();
    c.ship_repaired_item(authed(
        ShipRepairedItemRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-OUT-2".into(),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    s.delivered("SF-OUT-2").await;
    s.until(&r.name, |x| {
        x.state == RepairState::AwaitingAcceptance as i32
    })
    .await;
    let again = c
        .reopen_repair(authed(
            ReopenRepairRequest {
                name: r.name.clone(),
                reason: "the screen still flickers".into(),
                request_id: rid(),
                ..Default::default()
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.state, again.round),
        (RepairState::Accepted as i32, 2)
    );
    assert!(again.free_of_charge);
    assert_eq!(again.clock.unwrap().kind, "item_inbound");
    assert_eq!(refunds().await.len(), 1, "the penalty was asked once");
}

#[tokio::test]
async fn one_extension_announced_before_the_due_time_and_never_a_second_or_a_late_one() {
    let s = Suite::start(&[("REPAIRS_CLOCK_REPAIR_DUE", "4s")]).await;
    s.platform.put_order(order("x-1", 30, Some(300))).await;
    s.platform.put_order(order("x-2", 30, Some(300))).await;
    // the one to be late first: the other's clock starts last, and is extended at once
    let late = repairing(&s, "x-2", "SF-X2").await;
    let r = repairing(&s, "x-1", "SF-X1").await;
    let due = r.clock.as_ref().unwrap().due_time.unwrap();
    let extend = |name: &str, seconds_after_due: i64| ExtendRepairRequest {
        name: name.into(),
        reason: "the display panel is back-ordered".into(),
        new_due_time: Some(prost_types::Timestamp {
            seconds: due.seconds + seconds_after_due,
            nanos: due.nanos,
        }),
        request_id: rid(),
    };
    let mut c = s.client();
    let extended = c
        .extend_repair(authed(extend(&r.name, 2), &s.merchant))
        .await
        .unwrap()
        .into_inner();
    let shown = extended.extension.as_ref().unwrap();
    assert_eq!(shown.reason, "the display panel is back-ordered");
    assert_eq!(
        extended.clock.as_ref().unwrap().due_time.unwrap().seconds,
        due.seconds + 2
    );
    s.platform.heard(BUYER, "buyer-1", "repair_extended").await;
    // a second one is refused and changes nothing
    let err = c
        .extend_repair(authed(extend(&r.name, 3), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "ALREADY_EXTENDED"
    );
    let after = s.get(&r.name).await;
    assert_eq!(after.clock, extended.clock);
    assert_eq!(after.extension, extended.extension);
    let extends = "SELECT count(*) FROM {s}.audit WHERE action = 'extend'";
    assert_eq!(s.scalar(extends).await, 1);
    // announced after the due time: refused; the repair is overdue
    s.until(&late.name, |x| {
        x.clock.as_ref().is_some_and(|k| k.kind == "overdue")
    })
    .await;
    let err = c
        .extend_repair(authed(extend(&late.name, 20), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "DUE_TIME_PASSED"
    );
    assert!(s.get(&late.name).await.extension.is_none());
    assert_eq!(s.scalar(extends).await, 1);
}
