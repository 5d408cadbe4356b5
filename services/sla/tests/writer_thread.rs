//! Its own test binary: it counts the threads of the whole test process, which the
//! replicas of sibling tests would add to.
//!
//! New timers are written by a thread of the replica's own (the writer thread, with a
//! runtime and Postgres connections of its own). A replica that stops must let go of it:
//! restarting replicas in one process must not pile up threads and connections.
//!
//! The only test of this file: it counts the threads of the whole test process.

#[path = "harness.rs"]
mod harness;

use std::time::Duration;

use aftersales_proto::aftersales::sla::v1::{BatchScheduleTimersRequest, ScheduleTimerRequest};
use harness::Harness;
use testkit::eventually;

/// Threads of this process named `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_ends_its_writer_thread() {
    let h = Harness::new().await;
    assert_eq!(threads_named("sla-writer"), 0);
    for round in 0..3 {
        let replica = h.replica().await;
        let mut c = h.client(&replica);
        // Both write paths go through the thread: a single call's group commit...
        let t = h
            .schedule_after(
                &mut c,
                &format!("returns/w{round}"),
                "review",
                Duration::from_secs(3600),
            )
            .await;
        assert!(t.name.starts_with("timers/"));
        // ...and a batch.
        let batch = c
            .batch_schedule_timers(h.req(BatchScheduleTimersRequest {
                requests: vec![ScheduleTimerRequest {
                    subject: format!("returns/w{round}"),
                    kind: "inspect".into(),
                    trigger: harness::after(Duration::from_secs(3600)),
                    ..Default::default()
                }],
            }))
            .await
            .expect("batch")
            .into_inner();
        assert!(batch.results[0].created);
        assert_eq!(threads_named("sla-writer"), 1, "round {round}: one writer");
        drop(c);
        replica.stop().await;
        eventually(Duration::from_secs(5), || async {
            threads_named("sla-writer") == 0
        })
        .await;
    }
}
