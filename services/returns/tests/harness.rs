//! Harness for the returns tests: the whole suite a return needs, in-process over real
//! gRPC on loopback, each service on its own schema: the platform sandbox (orders,
//! gateway, notifier), the SLA service (every clock), refunds, logistics and returns.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::{Address, Money},
    platform::v1::{
        Order, OrderLine, PutOrderRequest, SpecialGoodsFlag,
        sandbox_control_client::SandboxControlClient,
    },
    refunds::v1::{ListRefundsRequest, Refund, refunds_service_client::RefundsServiceClient},
    returns::v1::{
        ApproveReturnRequest, CreateReturnRequest, GetReturnRequest, Return, ReturnKind,
        ReturnReason, ReturnState, SubmitReturnShipmentRequest,
        returns_service_client::ReturnsServiceClient,
    },
};
use kit::auth::Role;
use testkit::{Running, World, authed, eventually, peer};
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// Every service a return needs, running, and a token per party.
pub struct Suite {
    pub world: World,
    pub sandbox: Running,
    /// Held so the SLA service runs as long as the suite (no test calls it directly).
    #[allow(dead_code)]
    pub sla: Running,
    pub logistics: Running,
    pub refunds: Running,
    pub returns: Running,
    pub buyer: String,
    pub merchant: String,
    pub agent: String,
    pub partner: String,
}

impl Suite {
    /// Starts everything with `env` (e.g. `RETURNS_CLOCK_MERCHANT_REVIEW=1s`).
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        world.set("REFUNDS_WORKER_IDLE", "200ms");
        // Every listener is reserved and every <NAME>_URL set before any starts: returns
        // and refunds call each other.
        let [sandbox, sla, logistics, refunds, returns] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("sla", sla::SPEC, sla::setup),
                peer("logistics", logistics::SPEC, logistics::setup),
                peer("refunds", refunds::SPEC, refunds::setup),
                peer("returns", returns::SPEC, returns::setup),
            ])
            .await;
        Self {
            buyer: world.token(Role::Buyer, "buyer-1"),
            merchant: world.token(Role::Merchant, "merchant-1"),
            agent: world.token(Role::Agent, "agent-1"),
            partner: world.partner_token("sf-express", "sf"),
            world,
            sandbox,
            sla,
            logistics,
            refunds,
            returns,
        }
    }

    pub fn client(&self) -> ReturnsServiceClient<Channel> {
        ReturnsServiceClient::new(self.returns.channel())
    }

    pub async fn get(&self, name: &str) -> Return {
        self.client()
            .get_return(authed(GetReturnRequest { name: name.into() }, &self.agent))
            .await
            .unwrap()
            .into_inner()
    }

    /// Waits until `name` is in `state` (20 s), returning it.
    pub async fn until(&self, name: &str, state: ReturnState) -> Return {
        eventually(Duration::from_secs(20), || async {
            self.get(name).await.state == state as i32
        })
        .await;
        self.get(name).await
    }

    /// Files a request as buyer-1.
    pub async fn create(
        &self,
        kind: ReturnKind,
        order: &str,
        reason: ReturnReason,
    ) -> Result<Return, tonic::Status> {
        self.client()
            .create_return(authed(request(kind, order, reason), &self.buyer))
            .await
            .map(|r| r.into_inner())
    }

    /// Approves as merchant-1 with a return address and SF as the carrier.
    pub async fn approve(&self, name: &str) -> Result<Return, tonic::Status> {
        self.client()
            .approve_return(authed(
                ApproveReturnRequest {
                    name: name.into(),
                    return_address: Some(Address {
                        city: "Shanghai".into(),
                        street: "1 Return Rd".into(),
                        ..Default::default()
                    }),
                    carrier_options: vec!["sf".into()],
                    note: "please ship within 3 working days".into(),
                    request_id: rid(),
                },
                &self.merchant,
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// The buyer ships the goods back with SF `tracking`.
    pub async fn ship_back(&self, name: &str, tracking: &str) -> Return {
        self.client()
            .submit_return_shipment(authed(
                SubmitReturnShipmentRequest {
                    name: name.into(),
                    carrier_code: "sf".into(),
                    tracking_number: tracking.into(),
                    shipping_cost: Some(Money {
                        amount_minor: 1_200,
                        currency: "CNY".into(),
                    }),
                    request_id: rid(),
                    promised_delivery_time: None,
                    shipping_receipt: Some(aftersales_proto::aftersales::common::v1::EvidenceRef {
                        uri: format!("https://evidence.example/receipt-{tracking}.jpg"),
                        kind: 1,
                        ..Default::default()
                    }),
                    packaging_damage: 0,
                },
                &self.buyer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// SF reports `tracking` delivered, through logistics (retried until logistics has
    /// the shipment registered: returns registers it through its outbox).
    pub async fn carrier_delivers(&self, tracking: &str) {
        let delivered = testkit::platform::DELIVERED;
        testkit::platform::carrier_reports(&self.world, &self.logistics, tracking, delivered).await;
    }

    /// The refunds of a case, as the agent sees them.
    pub async fn refunds_of(&self, case: &str) -> Vec<Refund> {
        RefundsServiceClient::new(self.refunds.channel())
            .list_refunds(authed(
                ListRefundsRequest {
                    source_case: case.into(),
                    page_size: 100,
                    ..Default::default()
                },
                &self.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .refunds
    }

    /// Puts an order into the sandbox.
    pub async fn put_order(&self, order: Order) {
        SandboxControlClient::new(self.sandbox.channel())
            .put_order(authed(
                PutOrderRequest { order: Some(order) },
                &self.world.token(Role::Service, "returns"),
            ))
            .await
            .unwrap();
    }

    /// `SELECT` on the returns schema (`{s}` is replaced by it).
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("returns", sql).await
    }
}

pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn request(kind: ReturnKind, order: &str, reason: ReturnReason) -> CreateReturnRequest {
    CreateReturnRequest {
        kind: kind as i32,
        order_id: order.into(),
        order_line_id: "l1".into(),
        quantity: 1,
        reason: reason as i32,
        description: "the seam is torn".into(),
        evidence: vec![aftersales_proto::aftersales::common::v1::EvidenceRef {
            uri: "https://evidence.example/photo-1.jpg".into(),
            kind: 1,
            ..Default::default()
        }],
        request_id: rid(),
        ..Default::default()
    }
}

/// A timestamp `secs` seconds from now.
pub fn from_now(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + secs,
        nanos: 0,
    })
}

/// An order of buyer-1 signed for `signed_secs_ago` seconds ago.
pub fn order(id: &str, signed_secs_ago: i64, qty: u32, special: &[SpecialGoodsFlag]) -> Order {
    let cny = |m: i64| {
        Some(Money {
            amount_minor: m,
            currency: "CNY".into(),
        })
    };
    Order {
        name: format!("orders/{id}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        payment_ref: format!("pay-{id}"),
        paid_time: from_now(-signed_secs_ago - 86_400 * 3),
        shipped_time: from_now(-signed_secs_ago - 86_400),
        promised_delivery_time: from_now(-signed_secs_ago),
        signed_for_time: from_now(-signed_secs_ago),
        carrier_code: "sf".into(),
        tracking_number: format!("SF{id}"),
        lines: vec![OrderLine {
            id: "l1".into(),
            sku: "sku-1".into(),
            category: "apparel".into(),
            special_goods: special.iter().map(|f| *f as i32).collect(),
            quantity: qty,
            unit_price: cny(10_000),
            paid_amount: cny(10_000 * qty as i64),
            shipping_fee_paid: cny(800),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn rule(e: &tonic::Status) -> String {
    e.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}
