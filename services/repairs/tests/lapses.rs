//! The clocks that close or move a repair without its parties, through the real SLA
//! service with second-long spans: an item never sent closes the repair after a second
//! item_inbound period; the buyer withdraws (only they may, and only before the item is
//! on its way); the merchant's owed step is a breach the desk hears of; an unanswered
//! quote lapses into a decline and the item goes back unrepaired; a parcel back late is
//! reported to the buyer and the desk.

use aftersales_proto::aftersales::repairs::v1::{
    CancelRepairRequest, QuoteDecision, RepairState, ShipRepairedItemRequest,
};
use testkit::authed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    harness::{Suite, order, rid},
    paid::quoted,
};

const BUYER: i32 = 1;
const MERCHANT: i32 = 2;
const AGENT: i32 = 3;

fn cancel(name: &str) -> CancelRepairRequest {
    CancelRepairRequest {
        name: name.into(),
        reason: "it works again".into(),
        request_id: rid(),
    }
}

#[tokio::test]
async fn an_item_never_sent_closes_the_repair_and_the_buyer_may_withdraw_before_it_is_sent() {
    let s = Suite::start(&[("REPAIRS_CLOCK_ITEM_INBOUND", "1s")]).await;
    s.platform.put_order(order("l-1", 30, Some(300))).await;
    let r = s.file("l-1").await;
    s.accept(&r.name, false).await;
    let closed = s
        .until(&r.name, |x| x.state == RepairState::Cancelled as i32)
        .await;
    assert!(closed.clock.is_none() && closed.close_time.is_some());
    assert!(
        closed.cancel_reason.contains("not sent"),
        "{}",
        closed.cancel_reason
    );
    s.platform
        .heard(BUYER, "buyer-1", "repair_item_awaited")
        .await;
    s.platform
        .heard(MERCHANT, "merchant-1", "repair_cancelled")
        .await;
    let expiries = "SELECT count(*) FROM {s}.audit WHERE action = 'clock_expired'";
    assert_eq!(s.scalar(expiries).await, 2, "a reminder, then the close");

    // the buyer withdraws a request; the merchant cannot withdraw it for them
    s.platform.put_order(order("l-2", 30, Some(300))).await;
    let w = s.file("l-2").await;
    let mut c = s.client();
    let err = c
        .cancel_repair(authed(cancel(&w.name), &s.merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let gone = c
        .cancel_repair(authed(cancel(&w.name), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gone.state, RepairState::Cancelled as i32);
    assert_eq!(gone.cancel_reason, "it works again");
    let err = c
        .cancel_repair(authed(cancel(&w.name), &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let info = err.get_details_precondition_failure().unwrap();
    assert_eq!(info.violations[0].subject, "CANCELLED");
    // the line is free for a new repair
    let anew = s.file("l-2").await;
    assert_ne!(anew.name, w.name);

    // once the item is on its way the repair goes on
    s.accept(&anew.name, false).await;
    s.send_in(&anew.name, "SF-L2").await;
    let err = c
        .cancel_repair(authed(cancel(&anew.name), &s.buyer))
        .await
        .unwrap_err();
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.reason, "ITEM_ON_ITS_WAY");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        s.get(&anew.name).await.state,
        RepairState::Accepted as i32,
        "a parcel on its way is awaited, not closed"
    );
}

#[tokio::test]
async fn a_merchant_step_overdue_is_a_breach_a_lapsed_quote_owes_its_fee_and_a_late_parcel_is_reported()
 {
    let s = Suite::start(&[
        ("REPAIRS_CLOCK_MERCHANT_STEP", "1s"),
        ("REPAIRS_CLOCK_QUOTE_DECISION", "1s"),
        ("REPAIRS_CLOCK_TRANSIT", "1s"),
    ])
    .await;
    // the merchant's policy charges 30.00 for the inspection of a declined quote
    s.set_inspection_fee(3_000).await;
    s.platform.put_order(order("l-3", 400, None)).await;
    let r = s.file("l-3").await;
    assert_eq!(
        r.inspection_fee.unwrap().amount_minor,
        3_000,
        "shown at filing"
    );
    s.accept(&r.name, false).await;
    let mut c = s.client();
    s.received(&r.name, "SF-L3").await;
    // the diagnosis is owed: its clock runs out, a breach the desk and merchant hear of
    s.platform
        .heard(AGENT, "repairs-desk", "repair_step_overdue")
        .await;
    s.platform
        .heard(MERCHANT, "merchant-1", "repair_step_overdue")
        .await;
    let received = s.get(&r.name).await;
    let q = quoted(&s, &received).await;
    // the buyer never answers: declined, the item goes back unrepaired
    let lapsed = s
        .until(&q.name, |x| x.state == RepairState::ReadyToShip as i32)
        .await;
    let lq = lapsed.quote.unwrap();
    assert_eq!(lq.decision, QuoteDecision::Declined as i32);
    assert!(lq.charge.is_empty(), "the quote is not charged");
    s.platform
        .heard(BUYER, "buyer-1", "repair_quote_lapsed")
        .await;
    // its inspection fee is, once
    let fee = s
        .until(&r.name, |x| {
            x.decline_fee
                .as_ref()
                .is_some_and(|f| f.charge_time.is_some())
        })
        .await
        .decline_fee
        .unwrap();
    let (charges, calls) = s.platform.charges(&r.name).await;
    assert_eq!((charges.len(), calls), (1, 1), "{charges:?}");
    assert_eq!(charges[0].amount.as_ref().unwrap().amount_minor, 3_000);
    assert_eq!(fee.charge, charges[0].name);
    s.platform
        .heard(BUYER, "buyer-1", "repair_fee_charged")
        .await;
    c.ship_repaired_item(authed(
        ShipRepairedItemRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-L3-BACK".into(),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    // no delivery reported: the parcel is late
    s.platform
        .heard(BUYER, "buyer-1", "repair_parcel_late")
        .await;
    s.platform
        .heard(AGENT, "repairs-desk", "repair_parcel_late")
        .await;
    assert_eq!(s.get(&r.name).await.state, RepairState::Shipped as i32);
    let breaches = "SELECT count(*) FROM {s}.audit WHERE action = 'clock_expired'";
    assert!(s.scalar(breaches).await >= 3);
}
