//! What each party reads of a refund (issue 23): the audit trail through ListRefundAudit,
//! to the refund's own buyer and merchant, staff and the case owners only; a merchant
//! gets neither the buyer's payment reference nor the gateway's text about it, and the
//! events carry the gateway's error code only.

use std::time::Duration;

use crate::harness::{Harness, goods};
use aftersales_proto::aftersales::{
    common::v1::{ActorRole, AuditEntry},
    platform::v1::{PaymentBehaviour, PaymentFailureMode},
    refunds::v1::{
        GetRefundRequest, ListRefundAuditRequest, ListRefundsRequest, RefundFailed, RefundState,
        RetryRefundRequest,
    },
};
use kit::auth::Role;
use prost::Message;
use testkit::{authed, eventually};
use tonic::Code;

fn audit(parent: &str, page_size: i32, page_token: &str) -> ListRefundAuditRequest {
    ListRefundAuditRequest {
        parent: parent.into(),
        page_size,
        page_token: page_token.into(),
    }
}

impl Harness {
    /// The whole trail of `name` as `token` reads it, one entry per page (so paging is
    /// walked too).
    async fn trail(&self, name: &str, token: &str) -> Result<Vec<AuditEntry>, tonic::Status> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .client()
                .list_refund_audit(authed(audit(name, 1, &page_token), token))
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
async fn a_refunds_audit_trail_is_read_by_its_own_parties_only() {
    let h = Harness::start(&[]).await;
    let req = goods("returns/r-1", 5_000);
    let r = h
        .client()
        .create_refund(authed(req.clone(), &h.service))
        .await
        .unwrap()
        .into_inner();
    h.until_state(&r.name, RefundState::Settled).await;

    let trail = h.trail(&r.name, &h.agent).await.unwrap();
    let steps: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.from_state.as_str(),
                e.to_state.as_str(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("create", "", "REQUESTED"),
            ("settle", "REQUESTED", "SETTLED")
        ],
        "oldest first, one entry per change"
    );
    let created = &trail[0];
    let actor = created.actor.clone().unwrap();
    assert_eq!(
        (actor.role, actor.id.as_str()),
        (ActorRole::Service as i32, "returns")
    );
    assert_eq!(created.request_id, req.request_id, "the causing call");
    assert_eq!(created.reason, "return received and inspected");
    assert!(created.time.is_some());
    let settled = trail[1].actor.clone().unwrap();
    assert_eq!(
        (settled.role, settled.id.as_str()),
        (ActorRole::System as i32, "payment-gateway"),
        "the gateway's answer, applied by the suite"
    );

    // Its buyer, its merchant and the case owner read the same trail.
    for token in [
        h.world.token(Role::Buyer, "buyer-1"),
        h.world.token(Role::Merchant, "merchant-1"),
        h.service.clone(),
    ] {
        assert_eq!(h.trail(&r.name, &token).await.unwrap().len(), 2);
    }
    // Another buyer or merchant learns nothing, not even that it exists.
    for token in [
        h.world.token(Role::Buyer, "buyer-2"),
        h.world.token(Role::Merchant, "merchant-2"),
    ] {
        let err = h.trail(&r.name, &token).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    let partner = h.world.partner_token("sf-express", "sf");
    let err = h.trail(&r.name, &partner).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Bad names and pages are named.
    let mut c = h.client();
    for bad in [
        audit("returns/r-1", 0, ""),
        audit(&r.name, 101, ""),
        audit(&r.name, 1, "not-a-token"),
    ] {
        let err = c
            .list_refund_audit(authed(bad, &h.agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    let unknown = format!("refunds/{}", uuid::Uuid::now_v7());
    let err = c
        .list_refund_audit(authed(audit(&unknown, 0, ""), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn a_merchant_reads_no_payment_reference_nor_the_gateways_text() {
    let h = Harness::start(&[]).await;
    h.gateway(PaymentBehaviour {
        fail_next: 1,
        failure_mode: PaymentFailureMode::Decline as i32,
        ..Default::default()
    })
    .await;
    let mut c = h.client();
    let r = c
        .create_refund(authed(goods("returns/r-1", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let failed = h.until_state(&r.name, RefundState::Failed).await;
    // Staff (and the case owner) read it whole.
    assert_eq!(failed.original_payment_ref, "pay-demo-1");
    assert!(
        failed.last_error.contains("simulated decline"),
        "{}",
        failed.last_error
    );

    let get = |token: String| {
        let mut c = h.client();
        let req = authed(
            GetRefundRequest {
                name: r.name.clone(),
            },
            &token,
        );
        async move { c.get_refund(req).await.unwrap().into_inner() }
    };
    let buyer = get(h.world.token(Role::Buyer, "buyer-1")).await;
    assert_eq!(buyer.original_payment_ref, "pay-demo-1", "the buyer's own");
    let merchant_token = h.world.token(Role::Merchant, "merchant-1");
    let merchant = get(merchant_token.clone()).await;
    assert_eq!(
        merchant.original_payment_ref, "",
        "not the merchant's to see"
    );
    assert_eq!(merchant.last_error, "DECLINED", "the code, not the text");
    assert_eq!(
        (merchant.name.as_str(), merchant.state),
        (r.name.as_str(), RefundState::Failed as i32),
        "everything else as it is"
    );

    let listed = c
        .list_refunds(authed(ListRefundsRequest::default(), &merchant_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.refunds.len(), 1);
    assert_eq!(listed.refunds[0].original_payment_ref, "");
    assert_eq!(listed.refunds[0].last_error, "DECLINED");

    // The trail: the decline's reason is the gateway's text for staff, its code for the
    // merchant.
    let fail = |trail: Vec<AuditEntry>| trail.into_iter().find(|e| e.action == "fail").unwrap();
    let staff = fail(h.trail(&r.name, &h.agent).await.unwrap());
    assert!(
        staff.reason.contains("simulated decline"),
        "{}",
        staff.reason
    );
    let theirs = fail(h.trail(&r.name, &merchant_token).await.unwrap());
    assert_eq!(theirs.reason, "DECLINED");

    // RefundFailed carries the code only: its consumers show the case to the merchant.
    let world = &h.world;
    eventually(Duration::from_secs(10), || async move {
        testkit::published(world, "refunds")
            .await
            .iter()
            .any(|e| e.r#type.ends_with("RefundFailed"))
    })
    .await;
    let event = testkit::published(world, "refunds")
        .await
        .into_iter()
        .find(|e| e.r#type.ends_with("RefundFailed"))
        .unwrap();
    let payload = RefundFailed::decode(event.data.as_slice()).unwrap();
    assert_eq!(
        (payload.refund.as_str(), payload.error.as_str()),
        (r.name.as_str(), "DECLINED")
    );
    assert!(
        !String::from_utf8_lossy(&event.data).contains("pay-demo-1"),
        "no payment reference in any event"
    );

    // A retry is audited with its request id.
    let retry = RetryRefundRequest {
        name: r.name.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    c.retry_refund(authed(retry.clone(), &h.agent))
        .await
        .unwrap();
    let trail = h.trail(&r.name, &h.agent).await.unwrap();
    let retried = trail.iter().find(|e| e.action == "retry").unwrap();
    assert_eq!(
        (
            retried.from_state.as_str(),
            retried.to_state.as_str(),
            retried.request_id.as_str()
        ),
        ("FAILED", "REQUESTED", retry.request_id.as_str())
    );
}
