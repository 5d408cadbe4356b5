//! The carrier webhook (issue 7): real HTTP requests with valid, wrong, stale and
//! replayed signatures, rotation, another carrier's shipment, bad bodies; and what the
//! accepted events do to shipments, in any order and any number of times.

use crate::harness::{Harness, SF_NEW, SF_OLD, YTO, event, now};
use aftersales_proto::aftersales::logistics::v1::{
    GetShipmentTimelineRequest, ShipmentDelivered, ShipmentDeliveredLate, ShipmentStatus,
};
use prost::Message;
use testkit::authed;

#[tokio::test]
async fn signed_events_are_accepted_under_either_secret_during_a_rotation() {
    let h = Harness::start(&[]).await;
    let shipment = h.register("returns/r-1", "SF1000", None).await;
    let (code, body) = h
        .post(
            "sf",
            "sf-express",
            SF_NEW,
            now(),
            &event("e1", "SF1000", "PICKED_UP", now() - 60),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&shipment), "{body}");
    assert!(body.contains(r#""duplicate":false"#), "{body}");
    let (code, _) = h
        .post(
            "sf",
            "sf-express",
            SF_OLD,
            now(),
            &event(
                "e2",
                "SF1000",
                "CARRIER_EVENT_STATUS_IN_TRANSIT",
                now() - 30,
            ),
        )
        .await;
    assert_eq!(code, 200, "the old secret still works during the overlap");
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.carrier_events").await, 2);
    assert_eq!(
        h.scalar("SELECT status::int8 FROM {s}.shipments").await,
        ShipmentStatus::InTransit as i64
    );
}

#[tokio::test]
async fn wrong_stale_unknown_and_foreign_requests_are_refused_and_write_nothing() {
    let h = Harness::start(&[]).await;
    h.register("returns/r-1", "SF1000", None).await;
    let body = event("e1", "SF1000", "DELIVERED", now() - 60);

    // a signature under another partner's secret
    assert_eq!(h.post("sf", "sf-express", YTO, now(), &body).await.0, 401);
    // a valid signature over a different body
    let ts = now().to_string();
    let sig = logistics::sign(SF_NEW.as_bytes(), &ts, body.as_bytes());
    let tampered = body.replace("DELIVERED", "RETURNED_TO_SENDER");
    let (code, _) = h
        .post_raw(
            "sf",
            &[
                ("X-Partner-Id", "sf-express"),
                ("X-Timestamp", &ts),
                ("X-Signature", &sig),
            ],
            tampered.as_bytes(),
        )
        .await;
    assert_eq!(code, 401);
    // stale and future timestamps, correctly signed
    assert_eq!(
        h.post("sf", "sf-express", SF_NEW, now() - 3600, &body)
            .await
            .0,
        401
    );
    assert_eq!(
        h.post("sf", "sf-express", SF_NEW, now() + 3600, &body)
            .await
            .0,
        401
    );
    // no signature, unknown partner
    let (code, _) = h
        .post_raw("sf", &[("X-Partner-Id", "sf-express")], body.as_bytes())
        .await;
    assert_eq!(code, 401);
    assert_eq!(h.post("sf", "nobody", SF_NEW, now(), &body).await.0, 401);
    // the YTO partner, correctly signed, reporting an SF parcel
    let (code, answer) = h.post("sf", "yto-partner", YTO, now(), &body).await;
    assert_eq!(code, 403, "{answer}");
    // well signed but bad bodies
    for bad in [
        "not json".to_string(),
        body.replace("DELIVERED", "TELEPORTED"),
        body.replace(r#""eventId":"e1","#, ""),
        body.replace("SF1000", "SF 1000 !"),
        body.replace("Shanghai", r#"Shanghai","extra":"x"#),
    ] {
        let (code, answer) = h.post("sf", "sf-express", SF_NEW, now(), &bad).await;
        assert_eq!(code, 400, "{bad} -> {answer}");
    }
    // an unknown carrier, and a body naming another carrier than the path
    let (code, _) = h
        .post(
            "zz",
            "sf-express",
            SF_NEW,
            now(),
            &body.replace(r#""carrierCode":"sf","#, ""),
        )
        .await;
    assert_eq!(code, 400);
    let (code, _) = h.post("yto", "sf-express", SF_NEW, now(), &body).await;
    assert_eq!(code, 400);
    // too large
    let huge = body.replace("scan", &"x".repeat(70 * 1024));
    assert_eq!(
        h.post("sf", "sf-express", SF_NEW, now(), &huge).await.0,
        413
    );

    assert_eq!(h.scalar("SELECT count(*) FROM {s}.carrier_events").await, 0);
    assert_eq!(
        h.scalar("SELECT status::int8 FROM {s}.shipments").await,
        ShipmentStatus::Registered as i64
    );
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.outbox").await, 0);
}

#[tokio::test]
async fn a_replayed_request_is_stored_once() {
    let h = Harness::start(&[]).await;
    h.register("returns/r-1", "SF1000", None).await;
    let ts = now();
    let body = event("e1", "SF1000", "DELIVERED", ts - 60);
    let mut answers = Vec::new();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (hook, body) = (h.webhook.clone(), body.clone());
        calls.spawn(async move { hook.post("sf", "sf-express", SF_NEW, ts, &body).await });
    }
    while let Some(r) = calls.join_next().await {
        answers.push(r.unwrap());
    }
    assert!(answers.iter().all(|(c, _)| *c == 200), "{answers:?}");
    let fresh = answers
        .iter()
        .filter(|(_, b)| b.contains(r#""duplicate":false"#))
        .count();
    assert_eq!(fresh, 1, "exactly one is the first: {answers:?}");
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.carrier_events").await, 1);
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        testkit::published(&h.world, "logistics").await.len() >= 2
    })
    .await;
    let events = testkit::published(&h.world, "logistics").await;
    let delivered = events
        .iter()
        .filter(|e| e.r#type == "aftersales.logistics.v1.ShipmentDelivered")
        .count();
    assert_eq!(delivered, 1, "announced once");
}

#[tokio::test]
async fn out_of_order_events_never_move_a_delivered_parcel_back() {
    let h = Harness::start(&[]).await;
    let t0 = now() - 3600;
    // Two events arrive before the shipment is registered: kept, applied at registration.
    for (id, status, at) in [("e2", "IN_TRANSIT", t0 + 600), ("e1", "PICKED_UP", t0)] {
        let (code, body) = h
            .post(
                "sf",
                "sf-express",
                SF_NEW,
                now(),
                &event(id, "SF1000", status, at),
            )
            .await;
        assert_eq!(code, 200);
        assert!(body.contains(r#""shipment":"""#), "no shipment yet: {body}");
    }
    let shipment = h.register("returns/r-1", "SF1000", None).await;
    assert_eq!(
        h.scalar("SELECT status::int8 FROM {s}.shipments").await,
        ShipmentStatus::InTransit as i64
    );
    // Delivered, then a late "in transit" scan with an earlier time.
    h.post(
        "sf",
        "sf-express",
        SF_NEW,
        now(),
        &event("e4", "SF1000", "DELIVERED", t0 + 1800),
    )
    .await;
    h.post(
        "sf",
        "sf-express",
        SF_NEW,
        now(),
        &event("e3", "SF1000", "OUT_FOR_DELIVERY", t0 + 1200),
    )
    .await;
    assert_eq!(
        h.scalar("SELECT status::int8 FROM {s}.shipments").await,
        ShipmentStatus::Delivered as i64
    );

    let timeline = h
        .client()
        .get_shipment_timeline(authed(
            GetShipmentTimelineRequest {
                name: shipment.clone(),
                ..Default::default()
            },
            &h.service,
        ))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = timeline.timelines[0]
        .events
        .iter()
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["e1", "e2", "e3", "e4"],
        "event-time order, not arrival order"
    );
    let by_tracking = h
        .client()
        .get_shipment_timeline(authed(
            GetShipmentTimelineRequest {
                carrier_code: "SF".into(),
                tracking_number: "SF1000".into(),
                ..Default::default()
            },
            &h.service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_tracking.timelines.len(), 1);
    assert_eq!(
        by_tracking.timelines[0].shipment.as_ref().unwrap().status,
        ShipmentStatus::Delivered as i32
    );
}

#[tokio::test]
async fn a_delivery_72_hours_past_the_promise_is_published_as_late() {
    let h = Harness::start(&[]).await;
    let promised = now() - 100 * 3600;
    h.register("returns/r-1", "SF1000", Some(promised)).await;
    h.register("returns/r-2", "SF2000", Some(now() - 3600))
        .await;
    h.post(
        "sf",
        "sf-express",
        SF_NEW,
        now(),
        &event("e1", "SF1000", "DELIVERED", now() - 60),
    )
    .await;
    h.post(
        "sf",
        "sf-express",
        SF_NEW,
        now(),
        &event("e2", "SF2000", "DELIVERED", now() - 60),
    )
    .await;
    testkit::eventually(std::time::Duration::from_secs(10), || async {
        testkit::published(&h.world, "logistics")
            .await
            .iter()
            .filter(|e| e.r#type == "aftersales.logistics.v1.ShipmentDelivered")
            .count()
            == 2
    })
    .await;
    let events = testkit::published(&h.world, "logistics").await;
    let late: Vec<ShipmentDeliveredLate> = events
        .iter()
        .filter(|e| e.r#type == "aftersales.logistics.v1.ShipmentDeliveredLate")
        .map(|e| ShipmentDeliveredLate::decode(e.data.as_slice()).unwrap())
        .collect();
    assert_eq!(late.len(), 1, "only the parcel 100 h past its promise");
    let s = late[0].shipment.as_ref().unwrap();
    assert_eq!(s.case_name, "returns/r-1");
    assert!(s.delivered_late);
    assert!(late[0].delay.as_ref().unwrap().seconds > 72 * 3600);
    let on_time = events
        .iter()
        .filter(|e| e.r#type == "aftersales.logistics.v1.ShipmentDelivered")
        .map(|e| ShipmentDelivered::decode(e.data.as_slice()).unwrap())
        .find(|d| d.shipment.as_ref().unwrap().case_name == "returns/r-2")
        .unwrap();
    assert!(!on_time.shipment.unwrap().delivered_late);
}
