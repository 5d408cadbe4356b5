//! Postgres is the truth and Redis only the fast schedule, so a Redis that hangs (accepts
//! connections, never answers) must not hang the callers: ScheduleTimer answers once the
//! timer is committed, BatchScheduleTimers and CancelTimer within a bounded wait, and the
//! timers fire when Redis answers again. Before, each of them waited for Redis forever.

mod common;

use std::time::Duration;

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, CancelTimerRequest, GetTimerRequest, ScheduleTimerRequest,
    TimerState, Trigger, trigger::Spec,
};
use common::Harness;
use testkit::eventually;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// A TCP proxy to the real Redis that can be frozen: while frozen it forwards nothing
/// either way, as a hung Redis (or a network partition that drops no connection) would.
async fn freezable_proxy(upstream: &str) -> (String, watch::Sender<bool>) {
    use redis::{ConnectionAddr, IntoConnectionInfo};
    let info = upstream.into_connection_info().expect("REDIS_URL");
    let ConnectionAddr::Tcp(host, port) = &info.addr else {
        panic!("this test proxies plain TCP Redis, not {:?}", info.addr)
    };
    let upstream = format!("{host}:{port}");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The same database and credentials, through the proxy.
    let auth = match (&info.redis.username, &info.redis.password) {
        (Some(u), Some(p)) => format!("{u}:{p}@"),
        (None, Some(p)) => format!(":{p}@"),
        _ => String::new(),
    };
    let url = format!(
        "redis://{auth}{}/{}",
        listener.local_addr().unwrap(),
        info.redis.db
    );
    let (frozen, watch) = watch::channel(false);
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let (ri, wi) = inbound.into_split();
            let (ro, wo) = outbound.into_split();
            tokio::spawn(pump(ri, wo, watch.clone()));
            tokio::spawn(pump(ro, wi, watch.clone()));
        }
    });
    (url, frozen)
}

async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn calls_answer_while_redis_hangs_and_the_timers_fire_once_it_answers() {
    let mut h = Harness::new().await;
    let (url, frozen) = freezable_proxy(&testkit::redis_url()).await;
    h.world.set("REDIS_URL", url);
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    let to_cancel = h
        .schedule_after(&mut c, "returns/c-hang", "review", Duration::from_secs(60))
        .await;

    frozen.send(true).unwrap();
    let scheduled = tokio::time::timeout(
        Duration::from_secs(5),
        h.schedule_after(
            &mut c,
            "returns/a-hang",
            "review",
            Duration::from_millis(1500),
        ),
    )
    .await
    .expect("ScheduleTimer answers while Redis hangs");
    assert_eq!(scheduled.subject, "returns/a-hang");
    let in_time = Duration::from_secs(8);
    let batch = tokio::time::timeout(
        in_time,
        c.batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: vec![ScheduleTimerRequest {
                subject: "returns/b-hang".into(),
                kind: "review".into(),
                trigger: Some(Trigger {
                    spec: Some(Spec::After(prost_types::Duration {
                        seconds: 1,
                        nanos: 500_000_000,
                    })),
                    start_time: None,
                }),
                ..Default::default()
            }],
        })),
    )
    .await
    .expect("BatchScheduleTimers answers while Redis hangs")
    .unwrap();
    assert!(batch.into_inner().results[0].created);
    tokio::time::timeout(
        in_time,
        c.cancel_timer(h.req(CancelTimerRequest {
            name: to_cancel.name.clone(),
            reason: "merchant approved".into(),
            ..Default::default()
        })),
    )
    .await
    .expect("CancelTimer answers while Redis hangs")
    .unwrap();
    let state = c
        .get_timer(h.req(GetTimerRequest {
            name: to_cancel.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .state;
    assert_eq!(state, TimerState::Cancelled as i32);
    // Still hung past the due time: nothing can fire yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(h.owner.of("returns/a-hang").is_empty());

    frozen.send(false).unwrap();
    eventually(Duration::from_secs(15), || {
        let n = (
            h.owner.of("returns/a-hang").len(),
            h.owner.of("returns/b-hang").len(),
        );
        async move { n.0 >= 1 && n.1 >= 1 }
    })
    .await;
    // Once, even though the add and the straggler pass may both have put them back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.owner.of("returns/a-hang").len(), 1);
    assert_eq!(h.owner.of("returns/b-hang").len(), 1);
}
