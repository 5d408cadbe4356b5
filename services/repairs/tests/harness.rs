//! Harness for the repairs tests: the platform sandbox (orders, notifier), the SLA
//! service (every clock), returns (the merchant's published policy) and repairs, each on
//! its own schema, over real gRPC on loopback.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::{Address, Money},
    platform::v1::{Order, OrderLine},
    repairs::v1::{
        AcceptRepairRequest, CreateRepairRequest, GetRepairRequest, Repair,
        SubmitRepairShipmentRequest, repairs_service_client::RepairsServiceClient,
    },
    returns::v1::{
        MerchantPolicy, UpsertMerchantPolicyRequest, returns_service_client::ReturnsServiceClient,
    },
};
use kit::auth::Role;
use testkit::{
    Running, World, authed, eventually, peer,
    platform::{self, Sandbox},
};
use tonic::transport::Channel;

pub struct Suite {
    pub world: World,
    /// The sandbox's control surface: orders in, what its ports were asked.
    pub platform: Sandbox,
    pub sla: Running,
    pub returns: Running,
    pub logistics: Running,
    pub refunds: Running,
    pub repairs: Running,
    pub buyer: String,
    pub merchant: String,
    pub agent: String,
}

impl Suite {
    /// Starts everything with `env` (e.g. `REPAIRS_CLOCK_FIRST_RESPONSE=1s`).
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        world.set("REFUNDS_WORKER_IDLE", "200ms");
        let [sandbox, sla, returns, logistics, refunds, repairs] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("sla", sla::SPEC, sla::setup),
                peer("returns", returns::SPEC, returns::setup),
                peer("logistics", logistics::SPEC, logistics::setup),
                peer("refunds", refunds::SPEC, refunds::setup),
                peer("repairs", repairs::SPEC, repairs::setup),
            ])
            .await;
        Self {
            buyer: world.token(Role::Buyer, "buyer-1"),
            merchant: world.token(Role::Merchant, "merchant-1"),
            agent: world.token(Role::Agent, "cs-1"),
            platform: Sandbox::new(&world, &sandbox),
            world,
            sla,
            returns,
            logistics,
            refunds,
            repairs,
        }
    }

    pub fn client(&self) -> RepairsServiceClient<Channel> {
        RepairsServiceClient::new(self.repairs.channel())
    }

    pub async fn get(&self, name: &str) -> Repair {
        self.client()
            .get_repair(authed(
                GetRepairRequest {
                    name: name.into(),
                    ..Default::default()
                },
                &self.agent,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Files buyer-1's repair of line l1 of `order`.
    pub async fn file(&self, order: &str) -> Repair {
        self.client()
            .create_repair(authed(repair(order), &self.buyer))
            .await
            .unwrap()
            .into_inner()
    }

    /// merchant-1 publishes a policy whose declined repair quotes cost `minor` CNY.
    pub async fn set_inspection_fee(&self, minor: i64) {
        ReturnsServiceClient::new(self.returns.channel())
            .upsert_merchant_policy(authed(
                UpsertMerchantPolicyRequest {
                    policy: Some(MerchantPolicy {
                        name: "merchants/merchant-1/policy".into(),
                        repair_inspection_fee: cny(minor),
                        ..Default::default()
                    }),
                    request_id: rid(),
                },
                &self.merchant,
            ))
            .await
            .unwrap();
    }

    /// The merchant accepts `name` with the repair point (and a spare unit if asked).
    pub async fn accept(&self, name: &str, spare_unit: bool) -> Repair {
        self.client()
            .accept_repair(authed(
                AcceptRepairRequest {
                    name: name.into(),
                    repair_address: repair_point(),
                    spare_unit,
                    request_id: rid(),
                    ..Default::default()
                },
                &self.merchant,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// The buyer sends the item in `tracking` (SF), not yet delivered.
    pub async fn send_in(&self, name: &str, tracking: &str) -> Repair {
        self.client()
            .submit_repair_shipment(authed(
                SubmitRepairShipmentRequest {
                    name: name.into(),
                    carrier_code: "sf".into(),
                    tracking_number: tracking.into(),
                    request_id: rid(),
                },
                &self.buyer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// The item sent in `tracking` and delivered to the repairer: the repair then.
    pub async fn received(&self, name: &str, tracking: &str) -> Repair {
        self.send_in(name, tracking).await;
        self.delivered(tracking).await;
        self.until(name, |x| {
            x.inbound_parcel
                .as_ref()
                .is_some_and(|p| p.delivered_time.is_some())
        })
        .await
    }

    /// SF reports `tracking` delivered through logistics.
    pub async fn delivered(&self, tracking: &str) {
        platform::carrier_reports(&self.world, &self.logistics, tracking, platform::DELIVERED)
            .await;
    }

    /// Waits (20 s) until `check` holds of the repair, returning it.
    pub async fn until(&self, name: &str, check: impl Fn(&Repair) -> bool) -> Repair {
        eventually(Duration::from_secs(20), || async {
            check(&self.get(name).await)
        })
        .await;
        self.get(name).await
    }

    /// `SELECT` on the repairs schema (`{s}` is replaced by it).
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("repairs", sql).await
    }
}

pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn cny(minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: "CNY".into(),
    })
}

pub fn ts(t: chrono::DateTime<chrono::Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

/// The merchant's repair point.
pub fn repair_point() -> Option<Address> {
    Some(Address {
        contact_name: "维修中心".into(),
        phone: "021-5555-0101".into(),
        country_code: "CN".into(),
        province: "上海市".into(),
        city: "上海市".into(),
        district: "浦东新区".into(),
        street: "张江路 100 号".into(),
        postal_code: "201203".into(),
    })
}

pub fn repair(order: &str) -> CreateRepairRequest {
    CreateRepairRequest {
        order_id: order.into(),
        order_line_id: "l1".into(),
        fault_description: "the screen flickers after ten minutes".into(),
        product_model: "X200".into(),
        request_id: rid(),
        ..Default::default()
    }
}

/// buyer-1's order at merchant-1, 1,000.00 CNY, signed for `signed` days ago, its line's
/// own warranty ending `warranty` days from now (none when `None`).
pub fn order(id: &str, signed: i64, warranty: Option<i64>) -> Order {
    let now = chrono::Utc::now();
    Order {
        name: format!("orders/{id}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        merchant_region: "CN-31".into(),
        payment_ref: format!("pay-{id}"),
        shipping_address: Some(Address {
            contact_name: "张三".into(),
            phone: "138-0000-0001".into(),
            country_code: "CN".into(),
            province: "上海市".into(),
            city: "上海市".into(),
            district: "黄浦区".into(),
            street: "淮海中路 1 号".into(),
            postal_code: "200021".into(),
        }),
        signed_for_time: ts(now - chrono::Duration::days(signed)),
        lines: vec![OrderLine {
            id: "l1".into(),
            sku: "sku-1".into(),
            category: "electronics".into(),
            quantity: 1,
            unit_price: cny(100_000),
            paid_amount: cny(100_000),
            shipping_fee_paid: cny(0),
            warranty_until: warranty.and_then(|d| ts(now + chrono::Duration::days(d))),
            ..Default::default()
        }],
        ..Default::default()
    }
}
