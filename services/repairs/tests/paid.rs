//! A paid repair end to end through the real suite: out of warranty, the item collected
//! by a courier booked through logistics, the spare unit lent on its own leg, diagnosed,
//! quoted, the first charge declined and the second taken through the payment gateway
//! (once, however often the acceptance is sent), repaired, quality-checked, shipped,
//! delivered and accepted by the buyer_acceptance clock, the spare unit given back; and
//! a charge the gateway does not answer, asked again by the charge clock and taken once;
//! a declined quote's inspection fee, refused by the gateway and left to the desk.

use std::time::Duration;

use aftersales_proto::aftersales::{
    platform::v1::{ChargeState, PaymentFailureMode},
    repairs::v1::{
        AcceptQuoteRequest, BookRepairPickupRequest, CompleteRepairRequest, DeclineQuoteRequest,
        DiagnoseRepairRequest, QuoteDecision, QuoteLabour, QuotePart, QuoteRepairRequest, Repair,
        RepairState, ReturnSpareUnitRequest, ShipRepairedItemRequest, ShipSpareUnitRequest,
        TechnicianGrade,
    },
};
use chrono::Utc;
use kit::auth::Role;
use testkit::authed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Suite, cny, order, rid, ts};

const BUYER: i32 = 1;
const AGENT: i32 = 3;

/// 1 part at 120.00 and 90 min of a senior technician at 80.00/h: 240.00.
fn quote(name: &str) -> QuoteRepairRequest {
    QuoteRepairRequest {
        name: name.into(),
        parts: vec![QuotePart {
            part: "display flex cable".into(),
            quantity: 1,
            unit_cost: cny(12_000),
        }],
        labour: vec![QuoteLabour {
            grade: TechnicianGrade::Senior as i32,
            hourly_rate: cny(8_000),
            minutes: 90,
        }],
        note: "the cable is torn".into(),
        request_id: rid(),
    }
}

fn accept_quote(name: &str, request_id: &str) -> AcceptQuoteRequest {
    AcceptQuoteRequest {
        name: name.into(),
        request_id: request_id.into(),
    }
}

/// Received by the repairer and quoted: QUOTED, 240.00 payable.
pub async fn quoted(s: &Suite, r: &Repair) -> Repair {
    let mut c = s.client();
    let diagnosed = c
        .diagnose_repair(authed(
            DiagnoseRepairRequest {
                name: r.name.clone(),
                fault: "a torn display flex cable".into(),
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
        RepairState::Diagnosed as i32,
        "paid: a quote first"
    );
    let q = c
        .quote_repair(authed(quote(&r.name), &s.merchant))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(q.state, RepairState::Quoted as i32);
    let shown = q.quote.as_ref().unwrap();
    assert_eq!(shown.total.as_ref().unwrap().amount_minor, 24_000);
    assert_eq!(shown.payable.as_ref().unwrap().amount_minor, 24_000);
    q
}

#[tokio::test]
async fn a_paid_repair_is_picked_up_charged_once_repaired_and_accepted_by_its_clock() {
    let s = Suite::start(&[("REPAIRS_CLOCK_BUYER_ACCEPTANCE", "2s")]).await;
    // signed for 400 days ago, no warranty of its own, none in the policy: the buyer pays
    s.platform.put_order(order("p-1", 400, None)).await;
    let r = s.file("p-1").await;
    assert!(!r.within_warranty && !r.free_of_charge);
    s.accept(&r.name, true).await;
    let mut c = s.client();
    let window = (
        Utc::now() + chrono::Duration::hours(1),
        Utc::now() + chrono::Duration::hours(3),
    );

    // door to door: a retry and a double click (two request ids) book one courier
    let pickup = || BookRepairPickupRequest {
        name: r.name.clone(),
        carrier_code: "sf".into(),
        window_start_time: ts(window.0),
        window_end_time: ts(window.1),
        request_id: rid(),
        ..Default::default()
    };
    let (first, click) = (pickup(), pickup());
    // another buyer's call books nothing
    let stranger = s.world.token(Role::Buyer, "buyer-2");
    let err = c
        .book_repair_pickup(authed(pickup(), &stranger))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(s.platform.pickups().await.is_empty());
    let sends = [first.clone(), first, click].map(|req| {
        let (mut c, who) = (s.client(), s.buyer.clone());
        tokio::spawn(async move { c.book_repair_pickup(authed(req, &who)).await })
    });
    let mut parcels = Vec::new();
    for send in sends {
        match send.await.unwrap() {
            Ok(got) => parcels.push(got.into_inner().inbound_parcel.unwrap().tracking_number),
            Err(e) => assert_eq!(
                e.get_details_error_info().unwrap().reason,
                "PICKUP_ALREADY_BOOKED",
                "{e:?}"
            ),
        }
    }
    assert!(!parcels.is_empty() && parcels.iter().all(|p| *p == parcels[0]));
    let booked = s.platform.pickups().await;
    assert_eq!(booked.len(), 1, "one courier: {booked:?}");
    assert_eq!(booked[0].tracking_number, parcels[0]);
    let to = booked[0].destination.as_ref().unwrap();
    assert_eq!(to.street, "张江路 100 号", "to the repair point");
    assert_eq!(
        booked[0].pickup_address.as_ref().unwrap().street,
        "淮海中路 1 号",
        "from the buyer's address"
    );
    // later, another window: the booked courier stands
    let err = c
        .book_repair_pickup(authed(
            BookRepairPickupRequest {
                window_end_time: ts(window.1 + chrono::Duration::hours(1)),
                ..pickup()
            },
            &s.buyer,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.get_details_error_info().unwrap().reason,
        "PICKUP_ALREADY_BOOKED"
    );
    assert_eq!(s.platform.pickups().await.len(), 1);

    // the spare unit, on its own leg
    c.ship_spare_unit(authed(
        ShipSpareUnitRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-SPARE-1".into(),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    s.delivered("SF-SPARE-1").await;
    s.delivered(&parcels[0]).await;
    let received = s
        .until(&r.name, |x| {
            x.inbound_parcel
                .as_ref()
                .is_some_and(|p| p.delivered_time.is_some())
                && x.spare_parcel
                    .as_ref()
                    .is_some_and(|p| p.delivered_time.is_some())
        })
        .await;
    assert_eq!(received.state, RepairState::Accepted as i32);
    let q = quoted(&s, &received).await;

    // the first charge is declined: the quote is open again, the buyer told why
    s.platform
        .fail_payments(1, PaymentFailureMode::Decline)
        .await;
    let declined = c
        .accept_quote(authed(accept_quote(&q.name, &rid()), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declined.state, RepairState::Quoted as i32);
    let dq = declined.quote.unwrap();
    assert_eq!(dq.decision, QuoteDecision::Unspecified as i32);
    assert!(dq.charge_failure.contains("INSUFFICIENT_FUNDS"), "{dq:?}");
    s.platform
        .heard(BUYER, "buyer-1", "repair_charge_failed")
        .await;

    // accepted again: charged, work starts; the same acceptance resent charges nothing
    let again = rid();
    let charged = c
        .accept_quote(authed(accept_quote(&q.name, &again), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(charged.state, RepairState::Repairing as i32);
    let cq = charged.quote.unwrap();
    assert!(cq.charge_time.is_some() && cq.charge_failure.is_empty());
    let replay = c
        .accept_quote(authed(accept_quote(&q.name, &again), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.state, RepairState::Repairing as i32);
    let (charges, calls) = s.platform.charges(&q.name).await;
    assert_eq!(calls, 2, "one ask per acceptance");
    let states: Vec<_> = charges.iter().map(|c| c.state).collect();
    assert_eq!(
        states,
        [ChargeState::Failed as i32, ChargeState::Succeeded as i32]
    );
    assert_eq!(charges[1].amount.as_ref().unwrap().amount_minor, 24_000);
    assert_eq!(
        charges[1].payment_ref, "pay-p-1",
        "the order's payment method"
    );
    assert_eq!(cq.charge, charges[1].name);
    assert_ne!(charges[0].charge_id, charges[1].charge_id);

    // repaired, checked, back to the buyer, accepted by the clock
    c.complete_repair(authed(
        CompleteRepairRequest {
            name: r.name.clone(),
            quality_check_passed: true,
            quality_check_note: "display tested for 2 h".into(),
            request_id: rid(),
            ..Default::default()
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    c.ship_repaired_item(authed(
        ShipRepairedItemRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-BACK-1".into(),
            request_id: rid(),
        },
        &s.merchant,
    ))
    .await
    .unwrap();
    s.delivered("SF-BACK-1").await;
    let done = s
        .until(&r.name, |x| x.state == RepairState::Completed as i32)
        .await;
    assert!(done.auto_accepted);
    s.platform
        .heard(BUYER, "buyer-1", "repair_spare_return_due")
        .await;

    // the spare unit goes back after the acceptance
    c.return_spare_unit(authed(
        ReturnSpareUnitRequest {
            name: r.name.clone(),
            carrier_code: "sf".into(),
            tracking_number: "SF-SPARE-2".into(),
            request_id: rid(),
        },
        &s.buyer,
    ))
    .await
    .unwrap();
    s.delivered("SF-SPARE-2").await;
    let home = s
        .until(&r.name, |x| {
            x.spare_return_parcel
                .as_ref()
                .is_some_and(|p| p.delivered_time.is_some())
        })
        .await;
    assert_eq!(home.state, RepairState::Completed as i32);
}

#[tokio::test]
async fn a_charge_the_gateway_does_not_answer_is_asked_again_by_its_clock_and_taken_once() {
    // the acceptance's own three asks take about half a second: well inside the clock
    let s = Suite::start(&[("REPAIRS_CLOCK_CHARGE", "3s")]).await;
    s.platform.put_order(order("p-2", 400, None)).await;
    let r = s.file("p-2").await;
    s.accept(&r.name, false).await;
    let received = s.received(&r.name, "SF-IN-P2").await;
    let mut c = s.client();
    let q = quoted(&s, &received).await;
    // the gateway is down for the acceptance's three asks
    s.platform
        .fail_payments(3, PaymentFailureMode::Unavailable)
        .await;
    let pending = c
        .accept_quote(authed(accept_quote(&q.name, &rid()), &s.buyer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.state, RepairState::Quoted as i32);
    let pq = pending.quote.unwrap();
    assert_eq!(pq.decision, QuoteDecision::Accepted as i32);
    assert!(!pq.charge.is_empty() && pq.charge_time.is_none());
    assert_eq!(pending.clock.unwrap().kind, "charge");
    // the charge clock asks again, same id: taken once
    let started = s
        .until(&r.name, |x| x.state == RepairState::Repairing as i32)
        .await;
    assert_eq!(started.quote.unwrap().charge, pq.charge);
    // a clock period more: nothing asks again once it is taken
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (charges, calls) = s.platform.charges(&q.name).await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0].state, ChargeState::Succeeded as i32);
    assert_eq!(calls, 4, "three refused, one taken, none after");
    s.platform
        .heard(AGENT, "repairs-desk", "repair_charge_pending")
        .await;
}

#[tokio::test]
async fn a_declined_quote_owes_the_inspection_fee_and_a_refused_fee_goes_to_the_desk() {
    let s = Suite::start(&[]).await;
    s.set_inspection_fee(5_000).await;
    s.platform.put_order(order("p-3", 400, None)).await;
    let r = s.file("p-3").await;
    s.accept(&r.name, false).await;
    let received = s.received(&r.name, "SF-IN-P3").await;
    let q = quoted(&s, &received).await;
    // the buyer's card refuses the fee: the item still goes back, the desk settles it
    s.platform
        .fail_payments(1, PaymentFailureMode::Decline)
        .await;
    let declined = s
        .client()
        .decline_quote(authed(
            DeclineQuoteRequest {
                name: q.name.clone(),
                reason: "too dear".into(),
                request_id: rid(),
            },
            &s.buyer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declined.state, RepairState::ReadyToShip as i32);
    let fee = declined.decline_fee.unwrap();
    assert_eq!(fee.amount.unwrap().amount_minor, 5_000);
    assert!(
        fee.charge_failure.contains("INSUFFICIENT_FUNDS"),
        "{}",
        fee.charge_failure
    );
    assert_eq!(
        declined.clock.unwrap().kind,
        "merchant_step",
        "the merchant owes the parcel back"
    );
    let (charges, calls) = s.platform.charges(&q.name).await;
    assert_eq!((charges.len(), calls), (1, 1));
    assert_eq!(charges[0].state, ChargeState::Failed as i32);
    let desk = s
        .platform
        .told_params(AGENT, "repairs-desk", "repair_fee_unpaid")
        .await;
    assert!(
        desk.get("charge_failure")
            .is_some_and(|w| w.contains("INSUFFICIENT_FUNDS"))
    );
    let merchant = s
        .platform
        .told_params(2, "merchant-1", "repair_quote_declined")
        .await;
    assert!(!merchant.contains_key("charge_failure"), "{merchant:?}");
}
