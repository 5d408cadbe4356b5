//! The gRPC side of logistics (issue 7): partners report over gRPC for their own carrier
//! only; pickups are booked once however often the call is retried; registration is
//! idempotent; partners see only their carrier's shipments.

use crate::harness::{Harness, now};
use aftersales_proto::aftersales::{
    common::v1::Address,
    logistics::v1::{
        BookPickupRequest, GetShipmentRequest, ListShipmentsRequest, RegisterShipmentRequest,
        ReportCarrierEventRequest, ShipmentLeg, ShipmentStatus,
    },
    platform::v1::{ListPickupsRequest, sandbox_control_client::SandboxControlClient},
};
use testkit::authed;
use tonic::Code;
use tonic_types::StatusExt;

fn report(carrier: &str, id: &str, tracking: &str) -> ReportCarrierEventRequest {
    ReportCarrierEventRequest {
        event_id: id.into(),
        carrier_code: carrier.into(),
        tracking_number: tracking.into(),
        status: 2,
        event_time: Some(prost_types::Timestamp {
            seconds: now() - 10,
            nanos: 0,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn partners_report_over_grpc_for_their_own_carrier_only() {
    let h = Harness::start(&[]).await;
    let shipment = h.register("returns/r-1", "SF1000", None).await;
    let mut c = h.client();
    let sf = h.world.partner_token("sf-express", "sf");
    let yto = h.world.partner_token("yto-partner", "yto");
    let ok = c
        .report_carrier_event(authed(report("sf", "g1", "SF1000"), &sf))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (ok.duplicate, ok.shipment.as_str()),
        (false, shipment.as_str())
    );
    let again = c
        .report_carrier_event(authed(report("SF", "g1", "SF1000"), &sf))
        .await
        .unwrap()
        .into_inner();
    assert!(
        again.duplicate,
        "the carrier code is case-insensitive and the event is the same"
    );
    let err = c
        .report_carrier_event(authed(report("sf", "g2", "SF1000"), &yto))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .report_carrier_event(tonic::Request::new(report("sf", "g3", "SF1000")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // A buyer may not report carrier events.
    let buyer = h.world.token(kit::auth::Role::Buyer, "buyer-1");
    let err = c
        .report_carrier_event(authed(report("sf", "g4", "SF1000"), &buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Invalid events name their fields.
    let bad = ReportCarrierEventRequest {
        status: 0,
        event_time: None,
        ..report("dhl-moon", "", "")
    };
    let err = c.report_carrier_event(authed(bad, &sf)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<_> = err
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    for f in [
        "event_id",
        "carrier_code",
        "tracking_number",
        "status",
        "event_time",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    assert_eq!(h.scalar("SELECT count(*) FROM {s}.carrier_events").await, 1);

    // The YTO partner cannot see the SF shipment; the SF partner can.
    let err = c
        .get_shipment(authed(
            GetShipmentRequest {
                name: shipment.clone(),
            },
            &yto,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        c.get_shipment(authed(
            GetShipmentRequest {
                name: shipment.clone()
            },
            &sf
        ))
        .await
        .is_ok()
    );
    let listed = c
        .list_shipments(authed(ListShipmentsRequest::default(), &yto))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.shipments.is_empty());
}

#[tokio::test]
async fn registration_and_pickups_are_idempotent() {
    let h = Harness::start(&[]).await;
    let mut c = h.client();
    let reg = RegisterShipmentRequest {
        case_name: "returns/r-1".into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        tracking_number: "SF1000".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let a = c
        .register_shipment(authed(reg.clone(), &h.service))
        .await
        .unwrap()
        .into_inner();
    let b = c
        .register_shipment(authed(reg.clone(), &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a, b, "a replay answers the same");
    let other_id = RegisterShipmentRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        ..reg
    };
    let c2 = c
        .register_shipment(authed(other_id, &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        c2.name, a.name,
        "the same parcel of the same case is one shipment"
    );

    let addr = |city: &str| Address {
        city: city.into(),
        ..Default::default()
    };
    let book = BookPickupRequest {
        case_name: "returns/r-2".into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        pickup_address: Some(addr("Hangzhou")),
        destination: Some(addr("Shanghai")),
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
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (mut c, req, token) = (h.client(), book.clone(), h.service.clone());
        calls.spawn(async move {
            c.book_pickup(authed(req, &token))
                .await
                .map(|r| r.into_inner())
        });
    }
    let mut names = std::collections::BTreeSet::new();
    while let Some(r) = calls.join_next().await {
        let s = r.unwrap().expect("booked");
        assert_eq!(s.status, ShipmentStatus::PickupBooked as i32);
        assert!(s.pickup.is_some() && !s.tracking_number.is_empty());
        names.insert(s.name);
    }
    assert_eq!(names.len(), 1, "one shipment for one booking");
    let pickups = SandboxControlClient::new(h.sandbox.channel())
        .list_pickups(authed(
            ListPickupsRequest {
                page_size: 100,
                ..Default::default()
            },
            &h.service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pickups.pickups.len(), 1, "the carrier was booked once");

    let bad = BookPickupRequest {
        pickup_address: None,
        window_end_time: book.window_start_time,
        ..book
    };
    let err = c.book_pickup(authed(bad, &h.service)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn an_event_racing_the_first_registration_of_its_parcel_is_never_lost() {
    let h = Harness::start(&[]).await;
    let sf = h.world.partner_token("sf-express", "sf");
    for i in 0..20 {
        let tracking = format!("SFRACE{i}");
        let (mut a, mut b) = (h.client(), h.client());
        let reg = RegisterShipmentRequest {
            case_name: format!("returns/race-{i}"),
            leg: ShipmentLeg::Return as i32,
            carrier_code: "sf".into(),
            tracking_number: tracking.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let delivered = ReportCarrierEventRequest {
            status: 4,
            ..report("sf", &format!("race-{i}"), &tracking)
        };
        let (r1, r2) = tokio::join!(
            a.register_shipment(authed(reg, &h.service)),
            b.report_carrier_event(authed(delivered, &sf)),
        );
        let shipment = r1.unwrap().into_inner();
        r2.unwrap();
        let now = h
            .client()
            .get_shipment(authed(
                GetShipmentRequest {
                    name: shipment.name,
                },
                &h.service,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            now.status,
            ShipmentStatus::Delivered as i32,
            "race {i}: the event was applied"
        );
    }
}
