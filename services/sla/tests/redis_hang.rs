//! Postgres is the truth and Redis only the fast schedule, so a Redis that hangs (accepts
//! connections, never answers) must not hang the callers: ScheduleTimer and
//! BatchScheduleTimers answer once the timers are committed (their Redis adds come after),
//! CancelTimer within a bounded wait, and the timers fire when Redis answers again. Before,
//! each of them waited for Redis forever.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::harness::Harness;
use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, CancelTimerRequest, GetTimerRequest, ScheduleTimerRequest,
    TimerState,
};
use testkit::eventually;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// What the proxy lets through: nothing while `frozen`; and never again anything on a
/// connection accepted before `cut` (the number of connections accepted when the link was
/// cut), as after a partition that dropped no connection: the old connections stay open
/// and silent, new ones work.
#[derive(Clone, Copy, Default)]
struct Link {
    frozen: bool,
    cut: u64,
}

/// A TCP proxy to the real Redis that can be frozen (see [`Link`]), as a hung Redis (or a
/// network partition that drops no connection) would be.
async fn freezable_proxy(upstream: &str) -> (String, watch::Sender<Link>, Arc<AtomicU64>) {
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
    let (link, watch) = watch::channel(Link::default());
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (ri, wi) = inbound.into_split();
            let (ro, wo) = outbound.into_split();
            tokio::spawn(pump(ri, wo, n, watch.clone()));
            tokio::spawn(pump(ro, wi, n, watch.clone()));
        }
    });
    (url, link, accepted)
}

async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    n: u64,
    mut link: watch::Receiver<Link>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if link.wait_for(|l| !l.frozen && n >= l.cut).await.is_err()
            || to.write_all(&buf[..read]).await.is_err()
        {
            return;
        }
    }
}

#[tokio::test]
async fn calls_answer_while_redis_hangs_and_the_timers_fire_once_it_answers() {
    let mut h = Harness::new().await;
    let (url, link, _) = freezable_proxy(&testkit::redis_url()).await;
    h.world.set("REDIS_URL", url);
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    let to_cancel = h
        .schedule_after(&mut c, "returns/c-hang", "review", Duration::from_secs(60))
        .await;

    link.send_modify(|l| l.frozen = true);
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
    // At once: not after CALLER_REDIS_TIMEOUT (2 s), as when the call waited for its add.
    let batch = tokio::time::timeout(
        Duration::from_secs(1),
        c.batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: vec![ScheduleTimerRequest {
                subject: "returns/b-hang".into(),
                kind: "review".into(),
                trigger: crate::harness::after(Duration::from_millis(1500)),
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

    link.send_modify(|l| l.frozen = false);
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

/// A partition that leaves the replica's Redis connections open but silent forever (no
/// RST, no FIN) while new connections work. redis-rs never replaces a connection whose
/// reply timed out, so each user of one must: the engine's loops (else this replica fires
/// nothing again), the group commit's Redis task (else every new timer waits for the
/// straggler pass, seconds late) and the calls' shared connection (else every cancel waits
/// out the timeout).
#[tokio::test]
async fn every_redis_user_replaces_a_connection_that_went_silent() {
    let mut h = Harness::new().await;
    let (url, link, accepted) = freezable_proxy(&testkit::redis_url()).await;
    h.world.set("REDIS_URL", url);
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    // Connections up everywhere: a timer fires, and a cancel updates Redis.
    h.schedule_after(
        &mut c,
        "returns/before-cut",
        "review",
        Duration::from_millis(300),
    )
    .await;
    let mut to_cancel = Vec::new();
    for i in 0..3 {
        let subject = format!("returns/cancel-{i}");
        to_cancel.push(
            h.schedule_after(&mut c, &subject, "review", Duration::from_secs(600))
                .await,
        );
    }
    let canceller = c.clone();
    let cancel = |name: String| {
        let mut c = canceller.clone();
        let req = h.req(CancelTimerRequest {
            name,
            reason: "merchant approved".into(),
            ..Default::default()
        });
        async move {
            let started = std::time::Instant::now();
            c.cancel_timer(req).await.unwrap();
            started.elapsed()
        }
    };
    cancel(to_cancel[0].name.clone()).await;
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/before-cut").len();
        async move { n == 1 }
    })
    .await;

    link.send_modify(|l| l.cut = accepted.load(Ordering::SeqCst));
    // Due in 1 s; the engine's loops notice the silence within 5 s.
    h.schedule_after(
        &mut c,
        "returns/after-cut",
        "review",
        Duration::from_secs(1),
    )
    .await;
    h.owner
        .wait_delivered("returns/after-cut", Duration::from_secs(15))
        .await;
    // The first cancel after the cut may wait out the timeout; the next one must not.
    cancel(to_cancel[1].name.clone()).await;
    let second = cancel(to_cancel[2].name.clone()).await;
    assert!(second < Duration::from_secs(1), "cancel took {second:?}");
    // A new timer is added to Redis at once again: it fires on time, not after the
    // straggler pass's 2 s grace.
    h.schedule_after(
        &mut c,
        "returns/later",
        "review",
        Duration::from_millis(1500),
    )
    .await;
    h.owner
        .wait_delivered("returns/later", Duration::from_secs(10))
        .await;
    let later = &h.owner.of("returns/later")[0];
    let late = crate::harness::ms_between(later.due, later.received);
    assert!(late < 1000, "fired {late} ms late");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let once = |subject: &str| {
        let got = h.owner.of(subject);
        assert_eq!(got.len(), 1, "{subject} fired once: {got:?}");
    };
    once("returns/after-cut");
    once("returns/later");
}
