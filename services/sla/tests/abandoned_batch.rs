//! A BatchScheduleTimers call whose caller gives up (its deadline passes while the group is
//! being written) must not leave a pooled Postgres connection out of step: the write
//! completes or fails whole, and every later call still reads its own rows.

use std::time::Duration;

use crate::harness::Harness;
use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, GetTimerRequest, ScheduleTimerRequest, Trigger, trigger::Spec,
};

fn in_an_hour(subject: String) -> ScheduleTimerRequest {
    ScheduleTimerRequest {
        subject,
        kind: "abandoned".into(),
        trigger: Some(Trigger {
            spec: Some(Spec::After(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            })),
            start_time: None,
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_abandoned_mid_write_leave_every_pooled_connection_in_step() {
    let h = Harness::new().await;
    let r = h.replica().await;
    let mut c = h.client(&r);

    // Deadlines from 0.5 ms to 20 ms: some calls end before the write, some during it
    // (sending the rows, waiting for the commit), some after.
    for round in 0..80u64 {
        let requests = (0..300)
            .map(|i| in_an_hour(format!("abandoned/{round}/{i}")))
            .collect();
        let mut req = h.req(BatchScheduleTimersRequest { requests });
        req.set_timeout(Duration::from_micros(500 + round * 250));
        let _ = c.batch_schedule_timers(req).await; // either outcome is fine
    }

    // Every pooled connection must still answer its own statements, within the call's
    // deadline: a timer just scheduled is read back as itself, many times over.
    for i in 0..60 {
        let mut req = h.req(in_an_hour(format!("after/{i}")));
        req.set_timeout(Duration::from_secs(5));
        let t = c
            .schedule_timer(req)
            .await
            .unwrap_or_else(|s| panic!("schedule {i} after the abandoned batches: {s:?}"))
            .into_inner()
            .timer
            .unwrap();
        let mut req = h.req(GetTimerRequest {
            name: t.name.clone(),
        });
        req.set_timeout(Duration::from_secs(5));
        let got = c
            .get_timer(req)
            .await
            .unwrap_or_else(|s| panic!("read back {} after the abandoned batches: {s:?}", t.name))
            .into_inner();
        assert_eq!(got.name, t.name);
        assert_eq!(got.subject, format!("after/{i}"));
    }
}
