//! Who reads which shipment, what is audited, and what events carry (issue 23): a buyer
//! or a merchant reads only the shipments of their own cases (the parties the case owner
//! gave at registration); registrations, bookings and every status move are in the
//! shipment's audit trail; events carry facts and names, never an address, a contact or
//! a scan's location.

use std::time::Duration;

use crate::harness::{Harness, SF_NEW, event, now};
use aftersales_proto::aftersales::{
    common::v1::{ActorRole, Address, AuditEntry},
    logistics::v1::{
        BookPickupRequest, GetShipmentRequest, GetShipmentTimelineRequest,
        ListShipmentAuditRequest, ListShipmentsRequest, RegisterShipmentRequest,
        ReportCarrierEventRequest, Shipment, ShipmentDelivered, ShipmentException, ShipmentLeg,
        ShipmentStatusChanged, TrackingEvent,
    },
};
use kit::auth::Role;
use prost::Message;
use testkit::{authed, eventually};
use tonic::Code;

fn register(case: &str, tracking: &str, buyer: &str, merchant: &str) -> RegisterShipmentRequest {
    RegisterShipmentRequest {
        case_name: case.into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        tracking_number: tracking.into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        buyer_id: buyer.into(),
        merchant_id: merchant.into(),
        ..Default::default()
    }
}

fn report(id: &str, tracking: &str, status: i32, description: &str) -> ReportCarrierEventRequest {
    ReportCarrierEventRequest {
        event_id: id.into(),
        carrier_code: "sf".into(),
        tracking_number: tracking.into(),
        status,
        event_time: Some(prost_types::Timestamp {
            seconds: now() - 10,
            nanos: 0,
        }),
        location: "Pudong, Lane 88 parcel locker".into(),
        description: description.into(),
    }
}

/// An address full of what PIPL protects.
fn home() -> Address {
    Address {
        contact_name: "Zhang San".into(),
        phone: "+8613800000000".into(),
        country_code: "CN".into(),
        province: "Shanghai".into(),
        city: "Shanghai".into(),
        district: "Pudong".into(),
        street: "88 Century Avenue, room 1201".into(),
        postal_code: "200120".into(),
    }
}

impl Harness {
    async fn shipment(&self, token: &str, req: RegisterShipmentRequest) -> Shipment {
        self.client()
            .register_shipment(authed(req, token))
            .await
            .unwrap()
            .into_inner()
    }

    async fn get(&self, name: &str, token: &str) -> Result<Shipment, tonic::Status> {
        let req = GetShipmentRequest { name: name.into() };
        self.client()
            .get_shipment(authed(req, token))
            .await
            .map(|r| r.into_inner())
    }

    /// Names of the shipments `token` lists.
    async fn listed(&self, token: &str) -> Vec<String> {
        let req = ListShipmentsRequest {
            page_size: 100,
            ..Default::default()
        };
        let page = self.client().list_shipments(authed(req, token)).await;
        page.unwrap()
            .into_inner()
            .shipments
            .into_iter()
            .map(|s| s.case_name)
            .collect()
    }

    /// Cases of the timelines `token` gets for `req`.
    async fn timelines(&self, token: &str, req: GetShipmentTimelineRequest) -> Vec<String> {
        let answer = self
            .client()
            .get_shipment_timeline(authed(req, token))
            .await;
        answer
            .unwrap()
            .into_inner()
            .timelines
            .into_iter()
            .map(|t| t.shipment.unwrap().case_name)
            .collect()
    }

    /// The whole audit trail of `name`, walked one entry per page.
    async fn trail(&self, name: &str, token: &str) -> Result<Vec<AuditEntry>, tonic::Status> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = ListShipmentAuditRequest {
                parent: name.into(),
                page_size: 1,
                page_token,
            };
            let page = self
                .client()
                .list_shipment_audit(authed(req, token))
                .await?
                .into_inner();
            out.extend(page.entries);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }
}

#[tokio::test]
async fn buyers_and_merchants_read_only_their_own_cases_shipments() {
    let h = Harness::start(&[]).await;
    let mine = h
        .shipment(
            &h.service,
            register("returns/r-1", "SF1000", "buyer-1", "merchant-1"),
        )
        .await;
    let theirs = h
        .shipment(
            &h.service,
            register("returns/r-2", "SF2000", "buyer-2", "merchant-2"),
        )
        .await;
    // Today's callers give no parties: only staff, the carrier and services see it.
    let anonymous = h
        .shipment(&h.service, register("returns/r-3", "SF3000", "", ""))
        .await;
    let sf = h.world.partner_token("sf-express", "sf");
    h.client()
        .report_carrier_event(authed(report("e1", "SF1000", 2, "scan"), &sf))
        .await
        .unwrap();

    for (role, id) in [(Role::Buyer, "buyer-1"), (Role::Merchant, "merchant-1")] {
        let token = h.world.token(role, id);
        assert_eq!(h.get(&mine.name, &token).await.unwrap().name, mine.name);
        for foreign in [&theirs.name, &anonymous.name] {
            let err = h.get(foreign, &token).await.unwrap_err();
            assert_eq!(err.code(), Code::NotFound, "{role:?} reads {foreign}");
        }
        assert_eq!(h.listed(&token).await, ["returns/r-1"], "{role:?}");
        // The timeline of their own case, with its events; nothing of another case,
        // however it is asked for.
        let by_case = |case: &str| GetShipmentTimelineRequest {
            case_name: case.into(),
            ..Default::default()
        };
        let own = h
            .client()
            .get_shipment_timeline(authed(by_case("returns/r-1"), &token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.timelines.len(), 1);
        assert_eq!(own.timelines[0].events.len(), 1, "the carrier's scan");
        assert!(h.timelines(&token, by_case("returns/r-2")).await.is_empty());
        let by_tracking = GetShipmentTimelineRequest {
            carrier_code: "sf".into(),
            tracking_number: "SF2000".into(),
            ..Default::default()
        };
        assert!(h.timelines(&token, by_tracking).await.is_empty());
        let by_name = GetShipmentTimelineRequest {
            name: theirs.name.clone(),
            ..Default::default()
        };
        let err = h
            .client()
            .get_shipment_timeline(authed(by_name, &token))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        // The same holds for the audit trail.
        assert!(h.trail(&mine.name, &token).await.is_ok());
        let err = h.trail(&theirs.name, &token).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    let merchant_2 = h.world.token(Role::Merchant, "merchant-2");
    assert_eq!(h.listed(&merchant_2).await, ["returns/r-2"]);
    // Staff and the carrier read all three.
    let agent = h.world.token(Role::Agent, "agent-1");
    assert_eq!(h.listed(&agent).await.len(), 3);
    assert_eq!(h.listed(&sf).await.len(), 3);
    assert!(h.get(&anonymous.name, &agent).await.is_ok());

    // A party id is an id: no whitespace, bounded.
    let err = h
        .client()
        .register_shipment(authed(
            register("returns/r-4", "SF4000", "buyer 1", &"m".repeat(101)),
            &h.service,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = testkit::bad_fields(&err);
    fields.sort();
    assert_eq!(fields, ["buyer_id", "merchant_id"]);
}

#[tokio::test]
async fn registrations_bookings_and_every_move_are_audited() {
    let h = Harness::start(&[]).await;
    // The carrier's first scan arrives before the case owner registers the parcel.
    let body = event("w-1", "SF5000", "IN_TRANSIT", now() - 100);
    let (status, _) = h.post("sf", "sf-express", SF_NEW, now(), &body).await;
    assert_eq!(status, 200);
    let req = register("returns/r-5", "SF5000", "buyer-1", "merchant-1");
    let s = h.shipment(&h.service, req.clone()).await;
    let sf = h.world.partner_token("sf-express", "sf");
    let mut c = h.client();
    c.report_carrier_event(authed(report("g-2", "SF5000", 4, "signed"), &sf))
        .await
        .unwrap();
    // A duplicate moves nothing and records nothing.
    c.report_carrier_event(authed(report("g-2", "SF5000", 4, "signed"), &sf))
        .await
        .unwrap();

    let trail = h.trail(&s.name, &h.service).await.unwrap();
    let steps: Vec<_> = trail
        .iter()
        .map(|e| {
            let a = e.actor.clone().unwrap();
            (
                e.action.as_str(),
                e.from_state.as_str(),
                e.to_state.as_str(),
                a.role,
                a.id,
            )
        })
        .collect();
    let partner = ActorRole::Partner as i32;
    assert_eq!(
        steps,
        [
            (
                "register",
                "",
                "REGISTERED",
                ActorRole::Service as i32,
                "returns".to_string()
            ),
            (
                "carrier_event",
                "REGISTERED",
                "IN_TRANSIT",
                partner,
                "sf-express".to_string()
            ),
            (
                "carrier_event",
                "IN_TRANSIT",
                "DELIVERED",
                partner,
                "sf-express".to_string()
            ),
        ],
        "oldest first; a scan received before the registration is its reporter's"
    );
    assert_eq!(trail[0].request_id, req.request_id);
    assert!(trail[1].reason.contains("w-1"), "{}", trail[1].reason);
    assert!(trail.iter().all(|e| e.time.is_some()));

    // A pickup booking is audited as one.
    let book = BookPickupRequest {
        case_name: "returns/r-6".into(),
        leg: ShipmentLeg::Return as i32,
        carrier_code: "sf".into(),
        pickup_address: Some(home()),
        destination: Some(home()),
        window_start_time: Some(prost_types::Timestamp {
            seconds: now() + 3600,
            nanos: 0,
        }),
        window_end_time: Some(prost_types::Timestamp {
            seconds: now() + 7200,
            nanos: 0,
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
    };
    let booked = c
        .book_pickup(authed(book, &h.service))
        .await
        .unwrap()
        .into_inner();
    let trail = h.trail(&booked.name, &h.service).await.unwrap();
    assert_eq!(
        trail
            .iter()
            .map(|e| (e.action.as_str(), e.to_state.as_str()))
            .collect::<Vec<_>>(),
        [("book_pickup", "PICKUP_BOOKED")]
    );
    // The buyer of the case reads the booked shipment (it was booked with the parties).
    let buyer = h.world.token(Role::Buyer, "buyer-1");
    assert!(h.get(&booked.name, &buyer).await.is_ok());

    // Bad parents and pages are named; an unknown shipment is NOT_FOUND.
    for (parent, size) in [("returns/r-5", 0), (s.name.as_str(), 101)] {
        let req = ListShipmentAuditRequest {
            parent: parent.into(),
            page_size: size,
            ..Default::default()
        };
        let err = c
            .list_shipment_audit(authed(req, &h.service))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{parent} {size}");
    }
    let unknown = format!("shipments/{}", uuid::Uuid::now_v7());
    let err = h.trail(&unknown, &h.service).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn events_carry_no_address_nor_contact_nor_location() {
    let h = Harness::start(&[]).await;
    let sf = h.world.partner_token("sf-express", "sf");
    let mut c = h.client();
    let req = RegisterShipmentRequest {
        destination: Some(home()),
        promised_delivery_time: Some(prost_types::Timestamp {
            seconds: now() - 100 * 3600,
            nanos: 0,
        }),
        ..register("returns/r-7", "SF7000", "buyer-1", "merchant-1")
    };
    let s = h.shipment(&h.service, req).await;
    let text = "parcel damaged at the sorting centre";
    for (id, status) in [("x-1", 5), ("x-2", 4)] {
        c.report_carrier_event(authed(report(id, "SF7000", status, text), &sf))
            .await
            .unwrap();
    }
    // Changed twice, an exception, a delivery, and late (promised 100 h ago).
    let world = &h.world;
    eventually(Duration::from_secs(10), || async move {
        testkit::published(world, "logistics").await.len() >= 5
    })
    .await;
    let events = testkit::published(world, "logistics").await;
    let check = |shipment: Option<Shipment>, event: Option<TrackingEvent>| {
        let shipment = shipment.expect("the shipment's facts");
        assert_eq!(
            (shipment.name.as_str(), shipment.case_name.as_str()),
            (s.name.as_str(), "returns/r-7")
        );
        assert_eq!(
            (
                shipment.carrier_code.as_str(),
                shipment.tracking_number.as_str()
            ),
            ("sf", "SF7000")
        );
        assert!(shipment.promised_delivery_time.is_some());
        assert_eq!(shipment.destination, None, "no address");
        assert_eq!(shipment.pickup, None, "no pickup address");
        if let Some(e) = event {
            assert!(e.event_time.is_some() && !e.event_id.is_empty());
            assert_eq!(e.location, "", "no scan location");
            assert_eq!(e.description, text, "the status text owners show");
        }
    };
    for envelope in &events {
        let raw = String::from_utf8_lossy(&envelope.data);
        for personal in ["Zhang San", "+86138", "Century Avenue", "200120", "locker"] {
            assert!(
                !raw.contains(personal),
                "{} carries {personal}",
                envelope.r#type
            );
        }
        let data = envelope.data.as_slice();
        match envelope.r#type.rsplit('.').next().unwrap() {
            "ShipmentStatusChanged" => {
                let e = ShipmentStatusChanged::decode(data).unwrap();
                check(e.shipment, e.event);
            }
            "ShipmentException" => {
                let e = ShipmentException::decode(data).unwrap();
                check(e.shipment, e.event);
            }
            "ShipmentDelivered" => check(ShipmentDelivered::decode(data).unwrap().shipment, None),
            "ShipmentDeliveredLate" => {
                let e = aftersales_proto::aftersales::logistics::v1::ShipmentDeliveredLate::decode(
                    data,
                )
                .unwrap();
                check(e.shipment, None);
            }
            other => panic!("unexpected event {other}"),
        }
    }
    // The readers of the API still get the whole shipment and the carrier's text.
    let whole = h.get(&s.name, &h.service).await.unwrap();
    assert_eq!(whole.destination, Some(home()));
    let timeline = c
        .get_shipment_timeline(authed(
            GetShipmentTimelineRequest {
                name: s.name.clone(),
                ..Default::default()
            },
            &h.service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(timeline.timelines[0].events[0].description, text);
}
