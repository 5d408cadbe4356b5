//! Its own test binary: FLUSHALL wipes the whole Redis, which every test of the `sla`
//! binary uses at the same time.
//!
//! Redis is a cache of the schedule: after FLUSHALL in the middle of a run (Redis restarted
//! without persistence), every accepted timer still fires, once. In its own test binary
//! because FLUSHALL wipes the whole server, which sibling tests in the same binary share.

#[path = "harness.rs"]
mod harness;

use std::{collections::BTreeMap, time::Duration};

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, ScheduleTimerRequest, Trigger, trigger::Spec,
};
use harness::Harness;
use testkit::eventually;

#[tokio::test]
async fn every_timer_fires_after_redis_loses_all_its_data() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    let now = chrono::Utc::now();
    let reqs: Vec<ScheduleTimerRequest> = (0..200)
        .map(|i| {
            let t = now + chrono::Duration::milliseconds(500 + i * 15);
            ScheduleTimerRequest {
                subject: format!("returns/f{i}"),
                kind: "review".into(),
                trigger: Some(Trigger {
                    spec: Some(Spec::DueTime(prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: t.timestamp_subsec_nanos() as i32,
                    })),
                    start_time: None,
                }),
                ..Default::default()
            }
        })
        .collect();
    c.batch_schedule_timers(h.req(BatchScheduleTimersRequest { requests: reqs }))
        .await
        .unwrap();
    // Mid-run: some fired, most still waiting.
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/f").len();
        async move { n >= 20 }
    })
    .await;
    let mut r = testkit::redis().await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut r).await.unwrap();

    eventually(Duration::from_secs(20), || {
        let n = h
            .owner
            .of("returns/f")
            .iter()
            .map(|d| d.subject.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        async move { n == 200 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in h.owner.of("returns/f") {
        per.entry(d.subject).or_default().push(d.delivery_id);
    }
    // Events claimed into memory before the flush are dropped by the lease check, so none
    // fires twice; were one to, it would carry the same delivery id.
    let repeated: Vec<_> = per.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once after the flush: {repeated:?}"
    );
    sla.stop().await;
}
