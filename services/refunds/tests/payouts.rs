//! Payouts against the sandbox PaymentGateway (issue 6): outages retried with backoff
//! under one payout id; declines failed and retried under the next id; exhausted retries
//! escalated; a crash between the gateway's answer and our commit reconciled without a
//! second payout; the settlement clock on the real SLA service escalating slow refunds.

use std::{process::Stdio, time::Duration};

use crate::harness::{Harness, goods, healthy, outage};
use aftersales_proto::aftersales::{
    platform::v1::{PaymentBehaviour, PaymentFailureMode, PayoutState},
    refunds::v1::{RefundState, RetryRefundRequest},
    sla::v1::{GetTimerRequest, TimerState, sla_service_client::SlaServiceClient},
};
use testkit::{authed, eventually};
use tonic::Code;

fn retry(name: &str) -> RetryRefundRequest {
    RetryRefundRequest {
        name: name.into(),
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

#[tokio::test]
async fn an_outage_is_retried_under_one_payout_id_and_paid_once() {
    let h = Harness::start(&[]).await;
    h.gateway(outage(3)).await;
    let r = h
        .client()
        .create_refund(authed(goods("returns/r-1", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let settled = h.until_state(&r.name, RefundState::Settled).await;
    assert_eq!(
        settled.payout_id, r.payout_id,
        "the id never changes across retries"
    );
    assert_eq!(settled.attempts, 4, "3 failed submissions and the good one");
    assert!(settled.settle_time.is_some() && settled.submit_time.is_some());
    let at_gateway = h.payouts(&r.payout_id, "").await;
    assert_eq!(at_gateway.submit_calls, 4);
    assert_eq!(at_gateway.payouts.len(), 1, "one payout for one refund");
    assert_eq!(at_gateway.payouts[0].state, PayoutState::Succeeded as i32);
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.audit WHERE to_state = 3")
            .await,
        1,
        "one transition to SETTLED"
    );
}

#[tokio::test]
async fn a_decline_fails_and_an_agent_retry_pays_under_the_next_id() {
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
    assert!(
        failed.last_error.contains("DECLINED"),
        "{}",
        failed.last_error
    );

    // Only an agent may retry, and only a stuck refund.
    let err = c
        .retry_refund(authed(retry(&r.name), &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let retried = c
        .retry_refund(authed(retry(&r.name), &h.agent))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(
        retried.payout_id, r.payout_id,
        "a declined payout id is not reused"
    );
    let settled = h.until_state(&r.name, RefundState::Settled).await;
    let err = c
        .retry_refund(authed(retry(&r.name), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "a settled refund cannot be retried"
    );

    let all = h.payouts("", &r.name).await;
    let succeeded: Vec<_> = all
        .payouts
        .iter()
        .filter(|p| p.state == PayoutState::Succeeded as i32)
        .collect();
    assert_eq!(succeeded.len(), 1, "paid once: {:?}", all.payouts);
    assert_eq!(succeeded[0].payout_id, settled.payout_id);
}

#[tokio::test]
async fn exhausted_retries_escalate_and_a_retry_keeps_the_payout_id() {
    let h = Harness::start(&[("REFUNDS_PAYOUT_MAX_FAILURES", "3")]).await;
    h.gateway(PaymentBehaviour {
        failure_rate: 1.0,
        ..Default::default()
    })
    .await;
    let mut c = h.client();
    let r = c
        .create_refund(authed(goods("returns/r-1", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let escalated = h.until_state(&r.name, RefundState::Escalated).await;
    assert_eq!(escalated.attempts, 3);
    assert!(
        escalated.last_error.contains("Unavailable"),
        "{}",
        escalated.last_error
    );

    h.gateway(healthy()).await;
    let retried = c
        .retry_refund(authed(retry(&r.name), &h.agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        retried.payout_id, r.payout_id,
        "the gateway may hold it: same id"
    );
    h.until_state(&r.name, RefundState::Settled).await;
    let at_gateway = h.payouts(&r.payout_id, "").await;
    assert_eq!(at_gateway.payouts.len(), 1);
    assert_eq!(at_gateway.submit_calls, 4);
}

/// The process dies after the gateway accepted the payout and before the refund records
/// it. The restarted service claims the refund again when its lease runs out, submits
/// under the same payout id, and the gateway answers with the payout it already has.
/// The child is the test build's binary, the only one with the `failpoints` feature (the
/// crate's dev-dependency on itself turns it on): a product build has no such hook.
#[tokio::test]
async fn a_crash_between_submission_and_recording_does_not_pay_twice() {
    let mut h = Harness::without_refunds(&[("REFUNDS_PAYOUT_LEASE", "1s")]).await;
    let cfg = h.world.config(&refunds::SPEC);
    let listen = h.refunds_url.trim_start_matches("http://").to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_refunds"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(h.world.env.iter().cloned())
        .env("DATABASE_URL", testkit::database_url())
        .env("DATABASE_SCHEMA", &cfg.database_schema)
        .env("REDIS_URL", testkit::redis_url())
        .env("REDIS_KEY_PREFIX", h.world.redis_prefix())
        .env("AUTH_JWT_SECRET", testkit::JWT_SECRET)
        .env("GRPC_LISTEN", &listen)
        .env("METRICS_LISTEN", "127.0.0.1:0")
        .env("REFUNDS_FAILPOINT", "crash_after_submit")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("refunds binary");
    // killed if the test fails before the failpoint does it
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Reap(child);
    let url = h.refunds_url.clone();
    eventually(Duration::from_secs(30), || {
        let url = url.clone();
        async move { kit::server::check_health(&url, "").await.unwrap_or(false) }
    })
    .await;

    let r = h
        .client()
        .create_refund(authed(goods("returns/r-1", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the failpoint did not fire"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "aborted: {status:?}");
    // The gateway paid; our database does not know yet.
    let at_gateway = h.payouts(&r.payout_id, "").await;
    assert_eq!((at_gateway.payouts.len(), at_gateway.submit_calls), (1, 1));
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.refunds WHERE state = 1 AND submit_time IS NULL")
            .await,
        1,
        "still REQUESTED after the crash"
    );

    h.start_refunds().await;
    let settled = h.until_state(&r.name, RefundState::Settled).await;
    assert_eq!(settled.payout_id, r.payout_id);
    let at_gateway = h.payouts(&r.payout_id, "").await;
    assert_eq!(at_gateway.payouts.len(), 1, "one payout");
    assert_eq!(
        at_gateway.submit_calls, 2,
        "resubmitted once under the same id"
    );
    assert_eq!(h.payouts("", &r.name).await.payouts.len(), 1);
}

#[tokio::test]
async fn the_settlement_clock_escalates_a_slow_refund_and_is_cancelled_on_settlement() {
    let h = Harness::start(&[("REFUNDS_SETTLEMENT_AFTER", "2s")]).await;
    // The gateway accepts but takes an hour to settle.
    h.gateway(PaymentBehaviour {
        settle_after: Some(prost_types::Duration {
            seconds: 3600,
            nanos: 0,
        }),
        ..Default::default()
    })
    .await;
    let mut c = h.client();
    let slow = c
        .create_refund(authed(goods("returns/r-1", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    h.until_state(&slow.name, RefundState::Submitted).await;
    let escalated = h.until_state(&slow.name, RefundState::Escalated).await;
    assert!(
        escalated.last_error.contains("settlement deadline"),
        "{}",
        escalated.last_error
    );

    // A quick one settles and its clock is cancelled at the SLA service.
    h.gateway(healthy()).await;
    let quick = c
        .create_refund(authed(goods("returns/r-2", 5_000), &h.service))
        .await
        .unwrap()
        .into_inner();
    h.until_state(&quick.name, RefundState::Settled).await;
    let timer = quick.clock.expect("clock").timer;
    let refunds_token = h.world.token(kit::auth::Role::Service, "refunds");
    let sla = SlaServiceClient::new(h.sla.channel());
    eventually(Duration::from_secs(10), || {
        let (mut sla, timer, token) = (sla.clone(), timer.clone(), refunds_token.clone());
        async move {
            sla.get_timer(authed(GetTimerRequest { name: timer }, &token))
                .await
                .is_ok_and(|t| t.into_inner().state == TimerState::Cancelled as i32)
        }
    })
    .await;
    // Long after its deadline would have passed, the settled refund stays settled.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.get(&quick.name).await.state, RefundState::Settled as i32);
}

#[tokio::test]
async fn two_replicas_share_the_payouts_without_submitting_any_twice() {
    let h = Harness::start(&[]).await;
    let second = h.world.start(refunds::SPEC, refunds::setup).await;
    second.wait_serving().await;
    // A slow gateway keeps each claim open long enough for the replicas to collide.
    h.gateway(PaymentBehaviour {
        latency: Some(prost_types::Duration {
            seconds: 0,
            nanos: 150_000_000,
        }),
        ..Default::default()
    })
    .await;
    let mut names = Vec::new();
    for i in 0..20 {
        // alternate replicas, so both workers are woken
        let channel = if i % 2 == 0 {
            h.refunds.as_ref().unwrap().channel()
        } else {
            second.channel()
        };
        let mut c = aftersales_proto::aftersales::refunds::v1::refunds_service_client::RefundsServiceClient::new(channel);
        let r = c
            .create_refund(authed(goods(&format!("returns/r-{i}"), 1_000), &h.service))
            .await
            .unwrap()
            .into_inner();
        names.push((r.name, r.payout_id));
    }
    for (name, _) in &names {
        h.until_state(name, RefundState::Settled).await;
    }
    let all = h.payouts("", "").await;
    assert_eq!(all.payouts.len(), 20);
    assert_eq!(all.submit_calls, 20, "no payout submitted twice");
    second.stop().await;
}
