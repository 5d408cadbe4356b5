//! What the parties were told and what carriers report, for the tests of issue 23:
//! the sandbox's notifications party by party, and carrier events of any status.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::Actor,
    logistics::v1::{ReportCarrierEventRequest, logistics_service_client::LogisticsServiceClient},
    platform::v1::{
        ListNotificationsRequest, Notification, sandbox_control_client::SandboxControlClient,
    },
};
use kit::auth::Role;
use testkit::{authed, eventually};

use crate::harness::Suite;

/// Who a notification goes to: (role, id) as the sandbox records it.
pub const BUYER: (i32, &str) = (1, "buyer-1");
pub const MERCHANT: (i32, &str) = (2, "merchant-1");
/// The platform desk (an agents' queue).
pub const DESK: (i32, &str) = (3, "platform-desk");

/// Every notification `to` got, in the order the sandbox accepted them.
pub async fn notices(s: &Suite, to: (i32, &str)) -> Vec<Notification> {
    SandboxControlClient::new(s.sandbox.channel())
        .list_notifications(authed(
            ListNotificationsRequest {
                page_size: 100,
                recipient: Some(Actor {
                    role: to.0,
                    id: to.1.into(),
                }),
                ..Default::default()
            },
            &s.world.token(Role::Service, "returns"),
        ))
        .await
        .unwrap()
        .into_inner()
        .notifications
}

/// The templates `to` got, sorted (deliveries of different services race).
pub async fn templates(s: &Suite, to: (i32, &str)) -> Vec<String> {
    let mut t: Vec<String> = notices(s, to)
        .await
        .into_iter()
        .map(|n| n.template)
        .collect();
    t.sort();
    t
}

/// Waits (20 s) until `to` got exactly `want` (any order), then returns them. Exactly:
/// a step told twice, or a party told what is not its business, fails.
pub async fn told_exactly(s: &Suite, to: (i32, &str), want: &[&str]) -> Vec<Notification> {
    let mut want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
    want.sort();
    let reached = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if templates(s, to).await.len() >= want.len() {
                // the last ones may still be on their way: settle briefly, then compare
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let got = templates(s, to).await;
    assert!(reached.is_ok() || got == want, "{to:?} was told {got:?}");
    assert_eq!(got, want, "what {to:?} was told");
    notices(s, to).await
}

/// The first notification of `template` in `all`.
pub fn find<'a>(all: &'a [Notification], template: &str) -> &'a Notification {
    all.iter()
        .find(|n| n.template == template)
        .unwrap_or_else(|| panic!("no {template}"))
}

/// SF reports `status` (CarrierEventStatus) for `tracking` with `description`, through
/// logistics, retried until logistics has the shipment registered.
pub async fn carrier_reports(s: &Suite, tracking: &str, status: i32, description: &str) {
    let c = LogisticsServiceClient::new(s.logistics.channel());
    eventually(Duration::from_secs(20), || {
        let (mut c, token) = (c.clone(), s.partner.clone());
        async move {
            let req = ReportCarrierEventRequest {
                event_id: format!("ev-{tracking}-{status}-{}", uuid::Uuid::new_v4()),
                carrier_code: "sf".into(),
                tracking_number: tracking.into(),
                status,
                event_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 5,
                    nanos: 0,
                }),
                description: description.into(),
                ..Default::default()
            };
            c.report_carrier_event(authed(req, &token))
                .await
                .is_ok_and(|r| !r.into_inner().shipment.is_empty())
        }
    })
    .await;
}
