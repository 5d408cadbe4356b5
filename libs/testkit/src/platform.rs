//! The platform as tests meet it: the sandbox's control surface (orders in; what the
//! Notifier, the PaymentGateway and CarrierBooking were asked) and a carrier reporting a
//! parcel through logistics, so every service's tests drive them one way.

use std::{collections::BTreeMap, time::Duration};

use aftersales_proto::aftersales::{
    common::v1::Actor,
    logistics::v1::{ReportCarrierEventRequest, logistics_service_client::LogisticsServiceClient},
    platform::v1::{
        Charge, ListChargesRequest, ListNotificationsRequest, ListPickupsRequest, Notification,
        Order, PaymentBehaviour, PaymentFailureMode, Pickup, PutOrderRequest,
        SetPaymentBehaviourRequest, sandbox_control_client::SandboxControlClient,
    },
};
use kit::auth::Role;
use tonic::transport::Channel;

use crate::{Running, World, authed, eventually};

/// A carrier event's status: delivered (`CarrierEventStatus::DELIVERED`).
pub const DELIVERED: i32 = 4;

/// The sandbox, driven as the platform's desk would (an agent's token).
#[derive(Clone)]
pub struct Sandbox {
    channel: Channel,
    token: String,
}

impl Sandbox {
    /// The control surface of the sandbox `running` in `world`.
    pub fn new(world: &World, running: &Running) -> Self {
        Self {
            channel: running.channel(),
            token: world.token(Role::Agent, "sandbox-tests"),
        }
    }

    fn client(&self) -> SandboxControlClient<Channel> {
        SandboxControlClient::new(self.channel.clone())
    }

    /// Creates or replaces `order`.
    pub async fn put_order(&self, order: Order) {
        self.client()
            .put_order(authed(PutOrderRequest { order: Some(order) }, &self.token))
            .await
            .unwrap();
    }

    /// The notifications to `to` (role, id), with `template` unless empty, oldest first.
    pub async fn notifications(&self, role: i32, id: &str, template: &str) -> Vec<Notification> {
        self.client()
            .list_notifications(authed(
                ListNotificationsRequest {
                    page_size: 100,
                    recipient: Some(Actor {
                        role,
                        id: id.into(),
                    }),
                    template: template.into(),
                    ..Default::default()
                },
                &self.token,
            ))
            .await
            .unwrap()
            .into_inner()
            .notifications
    }

    /// The templates `to` (role, id) was told, in the order the sandbox accepted them.
    pub async fn told(&self, role: i32, id: &str) -> Vec<String> {
        let all = self.notifications(role, id, "").await;
        all.into_iter().map(|n| n.template).collect()
    }

    /// Waits (10 s) until `to` (role, id) was told with `template` (a service's outbox
    /// sends it after the step's commit).
    pub async fn heard(&self, role: i32, id: &str, template: &str) {
        eventually(Duration::from_secs(10), || async {
            !self.notifications(role, id, template).await.is_empty()
        })
        .await;
    }

    /// The parameters of the last notification `to` (role, id) got with `template`,
    /// waiting for one first.
    pub async fn told_params(
        &self,
        role: i32,
        id: &str,
        template: &str,
    ) -> BTreeMap<String, String> {
        self.heard(role, id, template).await;
        let mut all = self.notifications(role, id, template).await;
        all.pop()
            .map(|n| n.params.into_iter().collect())
            .unwrap_or_default()
    }

    /// The charges the gateway took or declined for `reference`, and how often it was
    /// asked.
    pub async fn charges(&self, reference: &str) -> (Vec<Charge>, u32) {
        let r = self
            .client()
            .list_charges(authed(
                ListChargesRequest {
                    page_size: 100,
                    reference: reference.into(),
                    ..Default::default()
                },
                &self.token,
            ))
            .await
            .unwrap()
            .into_inner();
        (r.charges, r.submit_calls)
    }

    /// The next `n` gateway calls (payouts and charges) fail as `mode` says.
    pub async fn fail_payments(&self, n: u32, mode: PaymentFailureMode) {
        let behaviour = PaymentBehaviour {
            fail_next: n,
            failure_mode: mode as i32,
            ..Default::default()
        };
        self.client()
            .set_payment_behaviour(authed(
                SetPaymentBehaviourRequest {
                    behaviour: Some(behaviour),
                },
                &self.token,
            ))
            .await
            .unwrap();
    }

    /// The couriers booked at the carrier, oldest first.
    pub async fn pickups(&self) -> Vec<Pickup> {
        self.client()
            .list_pickups(authed(
                ListPickupsRequest {
                    page_size: 100,
                    ..Default::default()
                },
                &self.token,
            ))
            .await
            .unwrap()
            .into_inner()
            .pickups
    }
}

/// SF reports `status` for `tracking` through the logistics service `logistics`,
/// retried (20 s) until logistics has the shipment: the case's service registers it
/// through its outbox, after its own commit. Only an event that found the registered
/// shipment counts.
pub async fn carrier_reports(world: &World, logistics: &Running, tracking: &str, status: i32) {
    let c = LogisticsServiceClient::new(logistics.channel());
    let token = world.partner_token("sf-express", "sf");
    eventually(Duration::from_secs(20), || {
        let (mut c, token) = (c.clone(), token.clone());
        async move {
            let req = ReportCarrierEventRequest {
                event_id: uuid::Uuid::new_v4().to_string(),
                carrier_code: "sf".into(),
                tracking_number: tracking.into(),
                status,
                event_time: Some(prost_types::Timestamp {
                    seconds: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64)
                        - 5,
                    nanos: 0,
                }),
                ..Default::default()
            };
            c.report_carrier_event(authed(req, &token))
                .await
                .is_ok_and(|r| !r.into_inner().shipment.is_empty())
        }
    })
    .await;
}
