//! Several replicas share the firing work with no coordinator: no duplicate and no missing
//! expiry when two race, nothing lost when one is killed mid-delivery, and timers that fell
//! due while the service was down fire when it comes back.

use std::{collections::BTreeMap, time::Duration};

use crate::harness::{Behaviour, Harness};
use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, ListBreachesRequest, ScheduleTimerRequest, TimerExpired, Trigger,
    trigger::Spec,
};
use testkit::eventually;

fn due_in(ms: i64) -> Option<Trigger> {
    let t = chrono::Utc::now() + chrono::Duration::milliseconds(ms);
    Some(Trigger {
        spec: Some(Spec::DueTime(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        })),
        start_time: None,
    })
}

/// Schedules `n` timers with subjects `{prefix}{i}`, due spread over `spread_ms` from
/// `lead_ms` on, in batches.
async fn schedule_many(
    h: &Harness,
    c: &mut aftersales_proto::aftersales::sla::v1::sla_service_client::SlaServiceClient<
        tonic::transport::Channel,
    >,
    prefix: &str,
    n: usize,
    lead_ms: i64,
    spread_ms: i64,
) {
    let reqs: Vec<ScheduleTimerRequest> = (0..n)
        .map(|i| ScheduleTimerRequest {
            subject: format!("{prefix}{i}"),
            kind: "review".into(),
            trigger: due_in(lead_ms + spread_ms * i as i64 / n as i64),
            ..Default::default()
        })
        .collect();
    for chunk in reqs.chunks(250) {
        c.batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: chunk.to_vec(),
        }))
        .await
        .unwrap();
    }
}

/// Deliveries per subject.
fn counts(h: &Harness, prefix: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for d in h.owner.of(prefix) {
        *m.entry(d.subject).or_default() += 1;
    }
    m
}

#[tokio::test]
async fn two_replicas_fire_every_timer_exactly_once() {
    let h = Harness::new().await;
    let a = h.replica().await;
    let b = h.replica().await;
    let mut ca = h.client(&a);
    let mut cb = h.client(&b);
    // Half scheduled through each replica; both claim from the same shards.
    schedule_many(&h, &mut ca, "returns/a", 300, 800, 1500).await;
    schedule_many(&h, &mut cb, "returns/b", 300, 800, 1500).await;
    eventually(Duration::from_secs(20), || {
        let n = h.owner.of("returns/").len();
        async move { n >= 600 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = counts(&h, "returns/");
    assert_eq!(got.len(), 600, "missing expiries");
    let dups: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    // One breach, published once, per timer: 600 TimerExpired events for 600 timers.
    let expired = || async {
        let mut timers: Vec<String> = h
            .published::<TimerExpired>()
            .await
            .into_iter()
            .map(|e| e.breach.unwrap().timer)
            .collect();
        timers.sort();
        timers
    };
    eventually(Duration::from_secs(10), || async {
        expired().await.len() >= 600
    })
    .await;
    let mut subjects = expired().await;
    subjects.dedup();
    assert_eq!((expired().await.len(), subjects.len()), (600, 600));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_replica_killed_mid_delivery_loses_nothing() {
    let h = Harness::new().await;
    // The owner is slow: deliveries are in flight when the replica dies.
    h.owner
        .behave("returns/k", Behaviour::Hang(Duration::from_millis(1500)));
    let doomed = h.replica().await;
    let mut c = h.client(&doomed);
    schedule_many(&h, &mut c, "returns/k", 40, 300, 200).await;
    // Let it claim and start delivering, then kill it without any shutdown.
    tokio::time::sleep(Duration::from_millis(800)).await;
    doomed.kill();
    h.owner.heal();

    let survivor = h.replica().await;
    // Its leases expire (SLA_LEASE=2s) and the survivor takes the events back.
    eventually(Duration::from_secs(20), || {
        let n = counts(&h, "returns/k").len();
        async move { n == 40 }
    })
    .await;
    // Every expiry is recorded once, however many times it was delivered; a repeat carries
    // the same delivery id, which is what owners deduplicate on.
    let mut c = h.client(&survivor);
    eventually(Duration::from_secs(10), || {
        let mut c = c.clone();
        let req = h.req(ListBreachesRequest {
            owner: "returns".into(),
            ..Default::default()
        });
        async move { c.list_breaches(req).await.unwrap().into_inner().total_size == 40 }
    })
    .await;
    let mut ids: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for d in h.owner.of("returns/k") {
        ids.entry(d.subject).or_default().insert(d.delivery_id);
    }
    assert!(
        ids.values().all(|s| s.len() == 1),
        "one delivery id per expiry"
    );
    let _ = &mut c;
    survivor.stop().await;
}

#[tokio::test]
async fn timers_due_while_the_service_was_down_fire_when_it_returns() {
    let h = Harness::new().await;
    let first = h.replica().await;
    let mut c = h.client(&first);
    schedule_many(&h, &mut c, "returns/d", 50, 1500, 300).await;
    first.stop().await;
    // All of them fall due while nothing runs.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(h.owner.of("returns/d").is_empty());
    let again = h.replica().await;
    eventually(Duration::from_secs(10), || {
        let n = counts(&h, "returns/d").len();
        async move { n == 50 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(counts(&h, "returns/d").values().all(|n| *n == 1));
    again.stop().await;
}
