//! Its own test binary: it times 20 ms of pooling and reads every client's commands with
//! MONITOR, so sibling tests running beside it would both skew it and be slowed by it.
//!
//! New timers due well ahead go into Redis with company: the Redis task holds them up to
//! 20 ms (`REDIS_LINGER`) for the groups that follow, so that one `ZADD` per shard carries
//! many timers where each group commit's pipeline carried its own. A timer due soon is not
//! held: it is added (and fires) on time.
//!
//! The only test of this file: it reads the replica's commands with MONITOR, which sees
//! every client of this Redis; it counts only the keys of this test's prefix.

#[path = "harness.rs"]
mod harness;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use aftersales_proto::aftersales::sla::v1::ScheduleTimerRequest;
use futures::StreamExt;
use harness::Harness;
use sla::schedule::Keys;

/// Timer ids whose events all go to shard 0, so that the timers' `ZADD`s can only differ
/// in how many each carries.
fn ids_in_shard_zero(n: usize) -> Vec<String> {
    (0u64..)
        .map(|i| uuid::Uuid::from_u64_pair(0x5eed, i).to_string())
        .filter(|id| Keys::shard_of(id) == 0)
        .take(n)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_timers_share_zadds_and_near_ones_are_not_held() {
    let h = Harness::new().await;
    let replica = h.replica().await;
    let mut c = h.client(&replica);
    let due_key = Keys::new(&h.world.redis_prefix()).due(0);

    // Every command on shard 0's due set, as MONITOR prints it.
    let client = redis::Client::open(testkit::redis_url()).unwrap();
    let monitor = client.get_async_monitor().await.unwrap(); // sends MONITOR
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut lines = monitor.into_on_message::<String>();
    let reader = tokio::spawn({
        let (seen, needle) = (seen.clone(), format!("\"{due_key}\""));
        async move {
            while let Some(line) = lines.next().await {
                if line.contains(&needle) {
                    seen.lock().unwrap().push(line);
                }
            }
        }
    });
    // Give MONITOR a moment to be in place.
    tokio::time::sleep(Duration::from_millis(100)).await;

    // One call at a time, so that every timer is a group commit of its own, due in an hour.
    const N: usize = 40;
    for (i, id) in ids_in_shard_zero(N).into_iter().enumerate() {
        c.schedule_timer(h.req(ScheduleTimerRequest {
            timer_id: id,
            subject: format!("returns/linger-{i}"),
            kind: "review".into(),
            trigger: crate::harness::after(Duration::from_secs(3600)),
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    // Then one due in 300 ms: it must not wait for company, and fires on time.
    let near = ids_in_shard_zero(N + 1).pop().unwrap();
    c.schedule_timer(h.req(ScheduleTimerRequest {
        timer_id: near,
        subject: "returns/linger-near".into(),
        kind: "review".into(),
        trigger: crate::harness::after(Duration::from_millis(300)),
        ..Default::default()
    }))
    .await
    .unwrap();
    h.owner
        .wait_delivered("returns/linger-near", Duration::from_secs(5))
        .await;
    let near = h.owner.of("returns/linger-near");
    assert_eq!(near.len(), 1, "the near timer fired once");
    let late = crate::harness::ms_between(near[0].due, near[0].received);
    assert!(late <= 100, "the near timer fired {late} ms late");

    tokio::time::sleep(Duration::from_millis(200)).await;
    reader.abort();
    let seen = seen.lock().unwrap().clone();
    // `<time> [0 <client>] "ZADD" "<key>" "NX" "<at>" "<member>" ...`: the far timers'
    // adds, as the replica sent them (the near timer's script adds it from `[0 lua]`).
    let zadds: Vec<usize> = seen
        .iter()
        .filter(|l| l.contains("\"ZADD\"") && !l.contains(" lua]"))
        .map(|l| {
            let args = l.split("\" \"").count(); // ZADD, key, NX, then at/member pairs
            (args - 3) / 2
        })
        .collect();
    let members: usize = zadds.iter().sum();
    assert_eq!(members, N, "every far timer was added once: {zadds:?}");
    // Sent one by one, each group's pipeline carried 1 timer (37 ZADDs for 40 with no
    // wait). Held for the groups that follow within 20 ms, a ZADD carries several (10 on
    // average here; 2 still leaves room for calls of 10 ms on a slow machine).
    assert!(
        zadds.len() * 2 <= N,
        "{} ZADDs for {N} timers ({zadds:?}): the far adds were not pooled",
        zadds.len()
    );
}
