//! Idempotency answers are kept for `IDEMPOTENCY_RETENTION` only (issue 23): a shipment's
//! answer holds addresses. Past it the answer is gone; a registration's replay is a new
//! request (it is keyed by its parcel and case, so it finds the shipment again), while a
//! booking's replay is refused (it sends a courier).

use std::time::Duration;

use crate::harness::{Harness, now};
use aftersales_proto::aftersales::{
    common::v1::Address,
    logistics::v1::{BookPickupRequest, RegisterShipmentRequest, ShipmentLeg},
};
use testkit::{authed, eventually};
use tonic::Code;

#[tokio::test]
async fn past_the_retention_a_registration_is_answered_again_and_a_booking_refused() {
    let h = Harness::start(&[("IDEMPOTENCY_RETENTION", "3s")]).await;
    let mut c = h.client();
    let home = Address {
        contact_name: "Zhang San".into(),
        street: "88 Century Avenue".into(),
        ..Default::default()
    };
    let reg = RegisterShipmentRequest {
        case_name: "returns/r-1".into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        tracking_number: "SF1000".into(),
        destination: Some(home.clone()),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let first = c
        .register_shipment(authed(reg.clone(), &h.service))
        .await
        .unwrap()
        .into_inner();
    let book = BookPickupRequest {
        case_name: "returns/r-2".into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        pickup_address: Some(home.clone()),
        destination: Some(home),
        window_start_time: Some(prost_types::Timestamp {
            seconds: now() + 3600,
            nanos: 0,
        }),
        window_end_time: Some(prost_types::Timestamp {
            seconds: now() + 7200,
            nanos: 0,
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    c.book_pickup(authed(book.clone(), &h.service))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        h.scalar("SELECT count(*) FROM {s}.idempotency WHERE expired_at IS NOT NULL")
            .await
            == 2
    })
    .await;
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.idempotency WHERE response IS NOT NULL")
            .await,
        0,
        "no address kept in an answer"
    );

    let again = c
        .register_shipment(authed(reg, &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, first.name, "the same shipment, found again");
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.shipments").await, 2);
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.audit WHERE action = 'register'")
            .await,
        1,
        "registered once"
    );
    let err = c.book_pickup(authed(book, &h.service)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
}
