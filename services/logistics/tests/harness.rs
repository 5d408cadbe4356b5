//! The logistics tests' harness: the sandbox (CarrierBooking) and logistics with its
//! carrier webhook on a port the test knows, two partners (one mid-rotation), and a
//! plain HTTP/1.1 client that posts exactly the bytes it signs.

#![allow(dead_code)]

use std::time::Duration;

use aftersales_proto::aftersales::logistics::v1::{
    RegisterShipmentRequest, ShipmentLeg, logistics_service_client::LogisticsServiceClient,
};
use kit::auth::Role;
use testkit::{Running, World, authed, peer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::transport::Channel;

/// sf-express reports for SF; it is rotating from its old secret to its new one.
pub const SF_OLD: &str = "sf-old-secret-0123456789";
pub const SF_NEW: &str = "sf-new-secret-9876543210";
/// yto-partner reports for YTO.
pub const YTO: &str = "yto-secret-abcdefghijklmnop";

pub struct Harness {
    pub world: World,
    pub sandbox: Running,
    pub logistics: Running,
    pub webhook: Webhook,
    pub service: String,
}

/// The carrier webhook's address; cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Webhook(pub String);

impl Harness {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        world.set(
            "LOGISTICS_PARTNERS",
            format!(
                r#"[{{"id":"sf-express","carriers":["sf"],"secrets":["{SF_NEW}","{SF_OLD}"]}},
                    {{"id":"yto-partner","carriers":["yto"],"secrets":["{YTO}"]}}]"#
            ),
        );
        // Below the ephemeral range: no outgoing connection can be given the port before
        // the service binds it (see testkit::reserve_port).
        let webhook = Webhook(format!("127.0.0.1:{}", testkit::reserve_port()));
        world.set("LOGISTICS_WEBHOOK_LISTEN", webhook.0.clone());
        let [sandbox, logistics] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("logistics", logistics::SPEC, logistics::setup),
            ])
            .await;
        let service = world.token(Role::Service, "returns");
        Self {
            world,
            sandbox,
            logistics,
            webhook,
            service,
        }
    }

    pub fn client(&self) -> LogisticsServiceClient<Channel> {
        LogisticsServiceClient::new(self.logistics.channel())
    }

    /// Registers the return leg of `case` on SF with `tracking`.
    pub async fn register(&self, case: &str, tracking: &str, promised: Option<i64>) -> String {
        self.client()
            .register_shipment(authed(
                RegisterShipmentRequest {
                    case_name: case.into(),
                    leg: ShipmentLeg::Return as i32,
                    carrier_code: "sf".into(),
                    tracking_number: tracking.into(),
                    promised_delivery_time: promised.map(|s| prost_types::Timestamp {
                        seconds: s,
                        nanos: 0,
                    }),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..Default::default()
                },
                &self.service,
            ))
            .await
            .unwrap()
            .into_inner()
            .name
    }

    /// See [`Webhook::post`].
    pub async fn post(
        &self,
        carrier: &str,
        partner: &str,
        secret: &str,
        timestamp: i64,
        body: &str,
    ) -> (u16, String) {
        self.webhook
            .post(carrier, partner, secret, timestamp, body)
            .await
    }

    /// See [`Webhook::post_raw`].
    pub async fn post_raw(
        &self,
        carrier: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        self.webhook.post_raw(carrier, headers, body).await
    }

    /// `SELECT count(*)` etc. on the logistics schema (`{s}` is replaced by it).
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("logistics", sql).await
    }
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A webhook body.
pub fn event(id: &str, tracking: &str, status: &str, at_unix: i64) -> String {
    let at = chrono::DateTime::from_timestamp(at_unix, 0)
        .unwrap()
        .to_rfc3339();
    format!(
        r#"{{"eventId":"{id}","carrierCode":"sf","trackingNumber":"{tracking}","status":"{status}","eventTime":"{at}","location":"Shanghai","description":"scan"}}"#
    )
}

impl Webhook {
    /// Posts `body` to the webhook for `carrier` as `partner`, signed with `secret` at
    /// `timestamp` (unix seconds). Returns the HTTP status and the body.
    pub async fn post(
        &self,
        carrier: &str,
        partner: &str,
        secret: &str,
        timestamp: i64,
        body: &str,
    ) -> (u16, String) {
        let ts = timestamp.to_string();
        let sig = logistics::sign(secret.as_bytes(), &ts, body.as_bytes());
        self.post_raw(
            carrier,
            &[
                ("X-Partner-Id", partner),
                ("X-Timestamp", &ts),
                ("X-Signature", &sig),
            ],
            body.as_bytes(),
        )
        .await
    }

    /// Posts with explicit headers.
    pub async fn post_raw(
        &self,
        carrier: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.0).await.unwrap();
        let mut req = format!(
            "POST /v1/carriers/{carrier}/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.0,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        // a server may answer (413) before reading everything
        let _ = stream.write_all(body).await;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
            .await
            .expect("webhook answered")
            .ok();
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status, body)
    }
}
