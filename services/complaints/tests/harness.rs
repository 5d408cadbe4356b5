//! Harness for the complaints tests: the suite a complaint meets, in-process over real
//! gRPC on loopback, each service on its own schema: the platform sandbox (orders,
//! gateway, notifier), the SLA service (every clock), logistics, refunds, returns (whose
//! disputes arrive as tickets) and complaints.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::Money,
    complaints::v1::{
        Complaint, ComplaintChannel, CreateComplaintRequest, GetComplaintRequest,
        complaints_service_client::ComplaintsServiceClient,
    },
    platform::v1::{Order, OrderLine},
};
use kit::auth::Role;
use testkit::{Running, World, authed, eventually, peer};
use tonic::transport::Channel;

/// Every service a complaint needs, running, and a token per party.
pub struct Suite {
    pub world: World,
    pub sandbox: Running,
    /// The sandbox's control surface: orders in, what its ports were asked.
    pub platform: testkit::platform::Sandbox,
    #[allow(dead_code)]
    pub sla: Running,
    pub logistics: Running,
    pub refunds: Running,
    pub returns: Running,
    pub complaints: Running,
    pub buyer: String,
    pub merchant: String,
    pub agent: String,
    pub arbitrator: String,
    pub expert: String,
}

impl Suite {
    /// Starts everything with `env` (e.g. `COMPLAINTS_CLOCK_RESOLUTION=3s`).
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        world.set("REFUNDS_WORKER_IDLE", "200ms");
        world.set("COMPLAINTS_EXPERT_ARBITRATORS", "arb-expert");
        let [sandbox, sla, logistics, refunds, returns, complaints] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("sla", sla::SPEC, sla::setup),
                peer("logistics", logistics::SPEC, logistics::setup),
                peer("refunds", refunds::SPEC, refunds::setup),
                peer("returns", returns::SPEC, returns::setup),
                peer("complaints", complaints::SPEC, complaints::setup),
            ])
            .await;
        Self {
            buyer: world.token(Role::Buyer, "buyer-1"),
            merchant: world.token(Role::Merchant, "merchant-1"),
            agent: world.token(Role::Agent, "cs-1"),
            arbitrator: world.token(Role::Arbitrator, "arb-1"),
            expert: world.token(Role::Arbitrator, "arb-expert"),
            platform: testkit::platform::Sandbox::new(&world, &sandbox),
            world,
            sandbox,
            sla,
            logistics,
            refunds,
            returns,
            complaints,
        }
    }

    pub fn client(&self) -> ComplaintsServiceClient<Channel> {
        ComplaintsServiceClient::new(self.complaints.channel())
    }

    pub async fn get(&self, name: &str) -> Complaint {
        self.client()
            .get_complaint(authed(
                GetComplaintRequest {
                    name: name.into(),
                    ..Default::default()
                },
                &self.agent,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Waits (20 s) until `check` holds of the complaint, returning it.
    pub async fn until(&self, name: &str, check: impl Fn(&Complaint) -> bool) -> Complaint {
        eventually(Duration::from_secs(20), || async {
            check(&self.get(name).await)
        })
        .await;
        self.get(name).await
    }

    /// Files a hotline complaint as buyer-1 about `order`.
    pub async fn file(&self, order: &str) -> Complaint {
        self.client()
            .create_complaint(authed(complaint(order), &self.buyer))
            .await
            .unwrap()
            .into_inner()
    }

    /// SF reports `status` (a `CarrierEventStatus`) for `tracking` through logistics,
    /// retried until logistics has the shipment (complaints registers it through its
    /// outbox).
    pub async fn carrier_reports(&self, tracking: &str, status: i32) {
        testkit::platform::carrier_reports(&self.world, &self.logistics, tracking, status).await;
    }

    /// `SELECT` on the complaints schema (`{s}` is replaced by it).
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("complaints", sql).await
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

pub fn complaint(order: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        channel: ComplaintChannel::Hotline as i32,
        order_id: order.into(),
        problem: "the seam tore on the first wash".into(),
        demand: "a refund".into(),
        request_id: rid(),
        ..Default::default()
    }
}

/// An order of buyer-1 at merchant-1, paid `paid` CNY minor units, the merchant in
/// `merchant_region` (the buyer is in CN-31).
pub fn order(id: &str, paid: i64, merchant_region: &str) -> Order {
    Order {
        name: format!("orders/{id}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        merchant_region: merchant_region.into(),
        payment_ref: format!("pay-{id}"),
        lines: vec![OrderLine {
            id: "l1".into(),
            sku: "sku-1".into(),
            category: "electronics".into(),
            quantity: 1,
            unit_price: cny(paid),
            paid_amount: cny(paid),
            shipping_fee_paid: cny(0),
            ..Default::default()
        }],
        ..Default::default()
    }
}
