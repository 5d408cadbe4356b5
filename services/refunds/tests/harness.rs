//! The refunds tests' harness: a world with the platform sandbox (payment gateway,
//! order directory, notifier), a real SLA service and the refunds service, all in-process
//! over gRPC on loopback, each on its own schema and Redis prefix.

#![allow(dead_code)]

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::Money,
    platform::v1::{
        ListPayoutsRequest, ListPayoutsResponse, PaymentBehaviour, PaymentFailureMode,
        SetPaymentBehaviourRequest, sandbox_control_client::SandboxControlClient,
    },
    refunds::v1::{
        CreateRefundRequest, GetRefundRequest, Refund, RefundKind, RefundState,
        refunds_service_client::RefundsServiceClient,
    },
};
use kit::auth::Role;
use testkit::{Running, World, authed, eventually, peer};
use tokio::net::TcpListener;
use tonic::transport::Channel;

/// The running world.
pub struct Harness {
    pub world: World,
    pub sandbox: Running,
    pub sla: Running,
    pub refunds: Option<Running>,
    /// Where refunds listens (kept across restarts).
    pub refunds_url: String,
    pub agent: String,
    pub service: String,
}

/// Environment shortening the retry clocks for tests.
pub const FAST: &[(&str, &str)] = &[
    ("REFUNDS_PAYOUT_BACKOFF", "100ms"),
    ("REFUNDS_PAYOUT_BACKOFF_MAX", "400ms"),
    ("REFUNDS_SETTLE_POLL", "200ms"),
    ("REFUNDS_WORKER_IDLE", "200ms"),
];

impl Harness {
    /// Starts the sandbox, the SLA service and refunds with `env` on top of [`FAST`].
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut h = Self::without_refunds(env).await;
        h.start_refunds().await;
        h
    }

    /// Everything but refunds, whose port is reserved (for tests that run it as a child).
    pub async fn without_refunds(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in FAST.iter().chain(env) {
            world.set(k, *v);
        }
        // Known before refunds runs: the SLA service calls it back there.
        let refunds_url = format!("http://127.0.0.1:{}", testkit::reserve_port());
        world.set("REFUNDS_URL", refunds_url.clone());
        let [sandbox, sla] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("sla", sla::SPEC, sla::setup),
            ])
            .await;
        let agent = world.token(Role::Agent, "agent-7");
        let service = world.token(Role::Service, "returns");
        Self {
            world,
            sandbox,
            sla,
            refunds: None,
            refunds_url,
            agent,
            service,
        }
    }

    /// Starts (or restarts) refunds in-process on its reserved port.
    pub async fn start_refunds(&mut self) {
        let addr = self.refunds_url.trim_start_matches("http://").to_string();
        let listener = bind_retry(&addr).await;
        let cfg = self.world.config(&refunds::SPEC);
        let running = self
            .world
            .start_on(listener, refunds::SPEC, cfg, refunds::setup);
        running.wait_serving().await;
        self.refunds = Some(running);
    }

    /// A client of refunds.
    pub fn client(&self) -> RefundsServiceClient<Channel> {
        RefundsServiceClient::new(
            tonic::transport::Endpoint::from_shared(self.refunds_url.clone())
                .unwrap()
                .connect_lazy(),
        )
    }

    /// A client of the sandbox's control port.
    pub fn control(&self) -> SandboxControlClient<Channel> {
        SandboxControlClient::new(self.sandbox.channel())
    }

    /// Sets the sandbox gateway's behaviour.
    pub async fn gateway(&self, b: PaymentBehaviour) {
        self.control()
            .set_payment_behaviour(authed(
                SetPaymentBehaviourRequest { behaviour: Some(b) },
                &self.service,
            ))
            .await
            .unwrap();
    }

    /// The gateway's payouts (and SubmitPayout calls) for a payout id or a refund.
    pub async fn payouts(&self, payout_id: &str, refund: &str) -> ListPayoutsResponse {
        self.control()
            .list_payouts(authed(
                ListPayoutsRequest {
                    page_size: 100,
                    payout_id: payout_id.into(),
                    refund: refund.into(),
                    ..Default::default()
                },
                &self.service,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Reads a refund as the agent.
    pub async fn get(&self, name: &str) -> Refund {
        self.client()
            .get_refund(authed(GetRefundRequest { name: name.into() }, &self.agent))
            .await
            .unwrap()
            .into_inner()
    }

    /// Waits until `name` is in `state`.
    pub async fn until_state(&self, name: &str, state: RefundState) -> Refund {
        let h = self;
        eventually(Duration::from_secs(20), || async move {
            h.get(name).await.state == state as i32
        })
        .await;
        self.get(name).await
    }

    /// `SELECT ...` on the refunds schema: `{s}` in `sql` is replaced by the schema.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("refunds", sql).await
    }
}

async fn bind_retry(addr: &str) -> TcpListener {
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{addr} stayed taken");
}

/// CNY.
pub fn cny(minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: "CNY".into(),
    })
}

/// A GOODS refund on orders/demo-1 line l1 (paid 398.00 CNY, shipping 10.00).
pub fn goods(case: &str, minor: i64) -> CreateRefundRequest {
    CreateRefundRequest {
        kind: RefundKind::Goods as i32,
        source_case: case.into(),
        order_id: "demo-1".into(),
        order_line_id: "l1".into(),
        amount: cny(minor),
        reason: "return received and inspected".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}

/// A gateway behaving normally: immediate success.
pub fn healthy() -> PaymentBehaviour {
    PaymentBehaviour::default()
}

/// A gateway failing the next `n` submissions with UNAVAILABLE.
pub fn outage(n: u32) -> PaymentBehaviour {
    PaymentBehaviour {
        fail_next: n,
        failure_mode: PaymentFailureMode::Unavailable as i32,
        ..Default::default()
    }
}
