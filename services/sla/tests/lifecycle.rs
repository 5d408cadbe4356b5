//! A timer's life over real gRPC, Postgres and Redis: schedule (idempotent, validated),
//! fire on time to the owner, cancel, reschedule, pause and resume, reminders, working-day
//! deadlines over the Spring Festival, retries and the dead letter an operator replays.

use std::time::{Duration, SystemTime};

use crate::harness::{Behaviour, Harness, ms_between};
use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, CancelTimerRequest, ComputeDeadlineRequest, GetTimerRequest,
    ListBreachesRequest, ListDeadLettersRequest, ListTimersRequest, PauseTimerRequest, Reminder,
    ReplayDeadLetterRequest, RescheduleTimerRequest, ResumeTimerRequest, ScheduleTimerRequest,
    TimerCancelled, TimerDeadLettered, TimerEventKind, TimerExpired, TimerState, Trigger,
    WorkingDays, reminder::At, trigger::Spec,
};
use kit::auth::Role;
use testkit::{authed, eventually};
use tonic::Code;

fn after(ms: u64) -> Option<Trigger> {
    crate::harness::after(Duration::from_millis(ms))
}

#[tokio::test]
async fn a_timer_fires_once_on_time_and_leaves_a_breach() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    let t = h
        .schedule_after(
            &mut c,
            "returns/1",
            "merchant_review",
            Duration::from_millis(700),
        )
        .await;
    assert_eq!(t.state, TimerState::Scheduled as i32);

    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/1").len();
        async move { n == 1 }
    })
    .await;
    let d = &h.owner.of("returns/1")[0];
    assert_eq!(d.event_kind, TimerEventKind::Expired as i32);
    assert_eq!(
        d.delivery_id,
        format!("{}:0:x", t.name.trim_start_matches("timers/"))
    );
    let late = ms_between(d.due, d.received);
    assert!(
        (0..500).contains(&late),
        "fired {late} ms after its due time"
    );

    // Recorded as fired, with a breach fact for compliance reporting.
    eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        let req = h.req(GetTimerRequest { name: t.name.clone() });
        async move { c.get_timer(req).await.unwrap().into_inner().state == TimerState::Fired as i32 }
    })
    .await;
    let breaches = c
        .list_breaches(h.req(ListBreachesRequest {
            owner: "returns".into(),
            kind: "merchant_review".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(breaches.total_size, 1);
    assert_eq!(breaches.breaches[0].subject, "returns/1");
    // ...and published once, as TimerExpired carrying that breach.
    let expired = || h.published::<TimerExpired>();
    eventually(Duration::from_secs(10), || async {
        !expired().await.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.owner.of("returns/1").len(), 1, "fired exactly once");
    let expired = expired().await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].breach.as_ref(), Some(&breaches.breaches[0]));
    sla.stop().await;
}

#[tokio::test]
async fn scheduling_is_idempotent_and_validated() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);

    // 20 concurrent schedules of one (owner, subject, kind): one timer.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut c = c.clone();
        let req = h.req(ScheduleTimerRequest {
            subject: "returns/7".into(),
            kind: "merchant_review".into(),
            trigger: after(60_000),
            ..Default::default()
        });
        set.spawn(async move { c.schedule_timer(req).await.unwrap().into_inner() });
    }
    let mut names = std::collections::BTreeSet::new();
    let mut created = 0;
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        created += r.created as usize;
        names.insert(r.timer.unwrap().name);
    }
    assert_eq!((names.len(), created), (1, 1));

    // The same request id answers with the same timer.
    let rid = uuid::Uuid::new_v4().to_string();
    let mk = || ScheduleTimerRequest {
        subject: "returns/8".into(),
        kind: "ship_back".into(),
        trigger: after(60_000),
        request_id: rid.clone(),
        ..Default::default()
    };
    let a = c.schedule_timer(h.req(mk())).await.unwrap().into_inner();
    let b = c.schedule_timer(h.req(mk())).await.unwrap().into_inner();
    assert!(a.created && !b.created);
    let first = a.timer.unwrap().name;
    assert_eq!(first, b.timer.unwrap().name);

    // A retry still names the first timer after it ended, when its key is free again.
    c.cancel_timer(h.req(CancelTimerRequest {
        name: first.clone(),
        reason: "test".into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    let retry = c.schedule_timer(h.req(mk())).await.unwrap().into_inner();
    assert!(!retry.created);
    let retried = retry.timer.unwrap();
    assert_eq!(
        (retried.name.as_str(), retried.state),
        (first.as_str(), TimerState::Cancelled as i32)
    );
    // ...while a new request for that key schedules a new live timer.
    let fresh = c
        .schedule_timer(h.req(ScheduleTimerRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            ..mk()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(fresh.created);
    let fresh_name = fresh.timer.unwrap().name;
    assert_ne!(fresh_name, first);

    // A batch whose timers collide, with each other and with a live one, answers each.
    let batch = c
        .batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: vec![
                ScheduleTimerRequest {
                    subject: "returns/9".into(),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..mk()
                },
                ScheduleTimerRequest {
                    subject: "returns/9".into(),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..mk()
                },
                ScheduleTimerRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..mk()
                },
            ],
        }))
        .await
        .unwrap()
        .into_inner()
        .results;
    let created: Vec<bool> = batch.iter().map(|r| r.created).collect();
    assert_eq!(created, [true, false, false]);
    let name = |i: usize| batch[i].timer.as_ref().unwrap().name.clone();
    assert_eq!(name(0), name(1), "one live timer per key");
    assert_eq!(name(2), fresh_name);
    // Two copies of one request in a batch (a retry racing its first call): one timer,
    // created once.
    let twice = ScheduleTimerRequest {
        subject: "returns/10".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..mk()
    };
    let copies = c
        .batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: vec![twice.clone(), twice],
        }))
        .await
        .unwrap()
        .into_inner()
        .results;
    let created: Vec<bool> = copies.iter().map(|r| r.created).collect();
    assert_eq!(created, [true, false]);
    assert_eq!(copies[0].timer, copies[1].timer);

    // An explicit timer id another owner holds is refused, and nothing is written.
    let other = h.world.token(Role::Service, "refunds");
    let taken = first.trim_start_matches("timers/").to_string();
    let err = c
        .schedule_timer(authed(
            ScheduleTimerRequest {
                timer_id: taken,
                subject: "refunds/1".into(),
                ..mk()
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    // In a batch it refuses the whole batch (all or none): its other timer is not written.
    let err = c
        .batch_schedule_timers(authed(
            BatchScheduleTimersRequest {
                requests: vec![
                    ScheduleTimerRequest {
                        subject: "refunds/2".into(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        ..mk()
                    },
                    ScheduleTimerRequest {
                        timer_id: first.trim_start_matches("timers/").to_string(),
                        subject: "refunds/1".into(),
                        ..mk()
                    },
                ],
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let theirs = c
        .list_timers(authed(ListTimersRequest::default(), &other))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.timers.is_empty());

    // Bad input: every field named, nothing written.
    let err = c
        .schedule_timer(h.req(ScheduleTimerRequest {
            subject: "".into(),
            kind: "k".into(),
            request_id: "nope".into(),
            reminders: vec![Reminder {
                at: Some(At::ElapsedFraction(1.5)),
            }],
            trigger: None,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        testkit::bad_fields(&err),
        [
            "reminders[0].elapsed_fraction",
            "request_id",
            "subject",
            "trigger"
        ]
    );
    // In a batch, each bad field is named under its item's path; nothing is written.
    let err = c
        .batch_schedule_timers(h.req(BatchScheduleTimersRequest {
            requests: vec![
                ScheduleTimerRequest {
                    subject: "returns/batch-ok".into(),
                    ..mk()
                },
                ScheduleTimerRequest {
                    subject: "".into(),
                    request_id: "nope".into(),
                    ..mk()
                },
                ScheduleTimerRequest {
                    trigger: None,
                    ..mk()
                },
            ],
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        testkit::bad_fields(&err),
        [
            "requests[1].request_id",
            "requests[1].subject",
            "requests[2].trigger"
        ]
    );
    let listed = c
        .list_timers(h.req(ListTimersRequest {
            subject: "returns/batch-ok".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.timers.is_empty(), "nothing written");

    // Only services schedule; another service cannot see this owner's timers.
    let buyer = h.world.token(Role::Buyer, "b1");
    let err = c.schedule_timer(authed(mk(), &buyer)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let other = h.world.token(Role::Service, "repairs");
    let name = names.into_iter().next().unwrap();
    let err = c
        .get_timer(authed(GetTimerRequest { name: name.clone() }, &other))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let listed = c
        .list_timers(authed(ListTimersRequest::default(), &other))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.timers.is_empty());
    sla.stop().await;
}

#[tokio::test]
async fn cancel_reschedule_pause_and_resume() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);

    // Cancelled: never fires; cancelling again is an illegal transition.
    let t = h
        .schedule_after(&mut c, "returns/c", "review", Duration::from_millis(600))
        .await;
    let cancelled = c
        .cancel_timer(h.req(CancelTimerRequest {
            name: t.name.clone(),
            reason: "merchant approved".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.state, TimerState::Cancelled as i32);
    let err = c
        .cancel_timer(h.req(CancelTimerRequest {
            name: t.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // A met clock is published once, as TimerCancelled with its reason (the refused
    // second cancel published nothing).
    let met = || h.published::<TimerCancelled>();
    eventually(Duration::from_secs(10), || async {
        !met().await.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let met = met().await;
    assert_eq!(met.len(), 1);
    assert_eq!(met[0].reason, "merchant approved");
    assert_eq!(met[0].timer.as_ref(), Some(&cancelled));

    // Rescheduled: an extension needs a reason; the old clock never fires, the new one does.
    let r = h
        .schedule_after(&mut c, "returns/r", "review", Duration::from_millis(500))
        .await;
    let err = c
        .reschedule_timer(h.req(RescheduleTimerRequest {
            name: r.name.clone(),
            trigger: after(1500),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let moved = c
        .reschedule_timer(h.req(RescheduleTimerRequest {
            name: r.name.clone(),
            trigger: after(1500),
            reason: "buyer asked for more time".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.reschedule_count, 1);

    // Paused right away for 1.5 s; resumed with its remaining ~800 ms.
    let p = h
        .schedule_after(&mut c, "returns/p", "review", Duration::from_millis(800))
        .await;
    let paused = c
        .pause_timer(h.req(PauseTimerRequest {
            name: p.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paused.state, TimerState::Paused as i32);
    let left = paused.remaining.unwrap();
    assert!(left.seconds * 1000 + left.nanos as i64 / 1_000_000 > 600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.owner.of("returns/p").is_empty(),
        "a paused clock does not fire"
    );
    let resumed_at = SystemTime::now();
    c.resume_timer(h.req(ResumeTimerRequest {
        name: p.name.clone(),
        ..Default::default()
    }))
    .await
    .unwrap();
    let err = c
        .resume_timer(h.req(ResumeTimerRequest {
            name: p.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    eventually(Duration::from_secs(10), || {
        let done = h.owner.of("returns/r").len() == 1 && h.owner.of("returns/p").len() == 1;
        async move { done }
    })
    .await;
    assert!(h.owner.of("returns/c").is_empty());
    let r_fire = &h.owner.of("returns/r")[0];
    assert!(
        r_fire.delivery_id.ends_with(":1:x"),
        "the new clock fired: {}",
        r_fire.delivery_id
    );
    let p_fire = &h.owner.of("returns/p")[0];
    let after_resume = ms_between(resumed_at, p_fire.received);
    assert!(
        (500..1500).contains(&after_resume),
        "fired {after_resume} ms after resume"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        h.owner.of("returns/r").len(),
        1,
        "the old clock never fired"
    );
    sla.stop().await;
}

#[tokio::test]
async fn reminders_come_before_the_expiry() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    c.schedule_timer(h.req(ScheduleTimerRequest {
        subject: "returns/rem".into(),
        kind: "ship_back".into(),
        trigger: after(1200),
        reminders: vec![
            Reminder {
                at: Some(At::ElapsedFraction(0.8)),
            },
            Reminder {
                at: Some(At::ElapsedFraction(0.5)),
            },
        ],
        ..Default::default()
    }))
    .await
    .unwrap();
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/rem").len();
        async move { n == 3 }
    })
    .await;
    let got: Vec<(i32, u32)> = h
        .owner
        .of("returns/rem")
        .iter()
        .map(|d| (d.event_kind, d.reminder_index))
        .collect();
    let reminder = TimerEventKind::Reminder as i32;
    let expired = TimerEventKind::Expired as i32;
    assert_eq!(got, [(reminder, 1), (reminder, 0), (expired, 0)]);
    sla.stop().await;
}

#[tokio::test]
async fn working_day_deadlines_skip_the_spring_festival_and_count_the_make_up_saturday() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    // Fri 13 Feb 2026 17:00 Beijing.
    let start = prost_types::Timestamp {
        seconds: 1_770_973_200,
        nanos: 0,
    };
    let t = c
        .schedule_timer(h.req(ScheduleTimerRequest {
            subject: "returns/wd".into(),
            kind: "inspection".into(),
            trigger: Some(Trigger {
                spec: Some(Spec::WorkingDays(WorkingDays {
                    days: 3,
                    calendar: "cn".into(),
                })),
                start_time: Some(start),
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .timer
        .unwrap();
    // Sat 14 Feb (make-up) 1, Tue 24 Feb 2, Wed 25 Feb 3: due at its 24:00 Beijing.
    assert_eq!(t.due_time.unwrap().seconds, 1_772_035_200); // 2026-02-25T16:00:00Z
    let d = c
        .compute_deadline(h.req(ComputeDeadlineRequest {
            start_time: Some(prost_types::Timestamp {
                seconds: 1_790_740_800,
                nanos: 0,
            }), // Wed 30 Sep 2026 12:00 Beijing
            working_days: Some(WorkingDays {
                days: 3,
                calendar: String::new(),
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    // National Day 1-7 Oct off; Thu 8 (1), Fri 9 (2), make-up Sat 10 Oct (3).
    assert_eq!(d.due_time.unwrap().seconds, 1_791_648_000); // 2026-10-10T16:00:00Z
    assert!(!d.fell_back_to_weekends);
    // That deadline has long passed, so the timer fires at once.
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/wd").len();
        async move { n == 1 }
    })
    .await;
    sla.stop().await;
}

#[tokio::test]
async fn failed_deliveries_retry_then_park_as_dead_letters_that_replay() {
    let h = Harness::new().await;
    h.owner.behave("returns/flaky", Behaviour::FailTimes(2));
    h.owner.behave("returns/dead", Behaviour::FailAlways);
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    h.schedule_after(
        &mut c,
        "returns/flaky",
        "review",
        Duration::from_millis(300),
    )
    .await;
    let dead = h
        .schedule_after(&mut c, "returns/dead", "review", Duration::from_millis(300))
        .await;

    // Two failures, then the third attempt is acknowledged.
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/flaky").len();
        async move { n == 1 }
    })
    .await;
    assert_eq!(h.owner.of("returns/flaky")[0].attempt, 3);

    // Three failures (SLA_MAX_ATTEMPTS=3): parked.
    let list = || h.dead_letters(&c);
    eventually(Duration::from_secs(10), || {
        let l = list();
        async move { l.await.len() == 1 }
    })
    .await;
    let dl = list().await.remove(0);
    assert_eq!(dl.timer, dead.name);
    assert_eq!(dl.attempts, 3);
    let parked = || h.published::<TimerDeadLettered>();
    eventually(Duration::from_secs(10), || async {
        !parked().await.is_empty()
    })
    .await;
    let parked = parked().await;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].dead_letter.as_ref().unwrap().name, dl.name);
    let state = c
        .get_timer(h.req(GetTimerRequest {
            name: dead.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .state;
    assert_eq!(state, TimerState::DeadLetter as i32);

    // The owner recovers; the operator replays; the same delivery id arrives once.
    h.owner.heal();
    let agent = h.world.token(Role::Agent, "ops-1");
    c.replay_dead_letter(authed(
        ReplayDeadLetterRequest {
            name: dl.name.clone(),
            ..Default::default()
        },
        &agent,
    ))
    .await
    .unwrap();
    eventually(Duration::from_secs(10), || {
        let n = h.owner.of("returns/dead").len();
        async move { n == 1 }
    })
    .await;
    assert_eq!(h.owner.of("returns/dead")[0].delivery_id, dl.delivery_id);
    sla.stop().await;
}

#[tokio::test]
async fn a_dead_lettered_reminder_replays_to_the_owner_while_its_clock_runs() {
    let h = Harness::new().await;
    h.owner.behave("returns/remind", Behaviour::FailAlways);
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    // The reminder is due after 300 ms, the expiry only after a minute.
    let t = c
        .schedule_timer(h.req(ScheduleTimerRequest {
            subject: "returns/remind".into(),
            kind: "review".into(),
            trigger: after(60_000),
            reminders: vec![Reminder {
                at: Some(At::ElapsedFraction(0.005)),
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .timer
        .unwrap();

    // Three failed attempts park the reminder; the timer goes on to its expiry.
    let base = c.clone();
    let list = || h.dead_letters(&base);
    eventually(Duration::from_secs(10), || {
        let l = list();
        async move { l.await.len() == 1 }
    })
    .await;
    let dl = list().await.remove(0);
    assert_eq!(
        dl.delivery_id,
        format!("{}:0:r0", t.name.trim_start_matches("timers/"))
    );
    let timer = c
        .get_timer(h.req(GetTimerRequest {
            name: t.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(timer.state, TimerState::Scheduled as i32);

    // While the owner still refuses, a replay says so and leaves the dead letter as it was.
    let agent = h.world.token(Role::Agent, "ops-1");
    let replay = || {
        let mut c = base.clone();
        let req = authed(
            ReplayDeadLetterRequest {
                name: dl.name.clone(),
                ..Default::default()
            },
            &agent,
        );
        async move { c.replay_dead_letter(req).await }
    };
    assert_eq!(replay().await.unwrap_err().code(), Code::Unavailable);
    assert!(list().await[0].replay_time.is_none());
    assert!(h.owner.of("returns/remind").is_empty());

    // The owner recovers: the replay delivers the reminder, under its original id, during
    // the call; two more clicks, one of them concurrent, deliver nothing more.
    h.owner.heal();
    let (a, b) = tokio::join!(replay(), replay());
    let (a, b) = (a.unwrap().into_inner(), b.unwrap().into_inner());
    assert!(a.replay_time.is_some());
    assert_eq!(a.replay_time, b.replay_time);
    replay().await.unwrap();
    let got = h.owner.of("returns/remind");
    assert_eq!(got.len(), 1, "delivered once: {got:?}");
    assert_eq!(got[0].delivery_id, dl.delivery_id);
    assert_eq!(got[0].event_kind, TimerEventKind::Reminder as i32);

    // Once the clock has ended, a reminder of it is moot.
    c.cancel_timer(h.req(CancelTimerRequest {
        name: t.name.clone(),
        reason: "approved".into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    h.owner.behave("returns/remind2", Behaviour::FailAlways);
    let t2 = c
        .schedule_timer(h.req(ScheduleTimerRequest {
            subject: "returns/remind2".into(),
            kind: "review".into(),
            trigger: after(60_000),
            reminders: vec![Reminder {
                at: Some(At::ElapsedFraction(0.005)),
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .timer
        .unwrap();
    eventually(Duration::from_secs(10), || {
        let l = list();
        async move { l.await.len() == 2 }
    })
    .await;
    let dl2 = list()
        .await
        .into_iter()
        .find(|d| d.timer == t2.name)
        .unwrap();
    c.cancel_timer(h.req(CancelTimerRequest {
        name: t2.name.clone(),
        reason: "approved".into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    h.owner.heal();
    let err = c
        .replay_dead_letter(authed(
            ReplayDeadLetterRequest {
                name: dl2.name.clone(),
                ..Default::default()
            },
            &agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(h.owner.of("returns/remind2").is_empty());
    sla.stop().await;
}

/// Pages through a listing with `page_size` 2; the timers' names in listed order.
async fn list_all(
    h: &Harness,
    c: &mut aftersales_proto::aftersales::sla::v1::sla_service_client::SlaServiceClient<
        tonic::transport::Channel,
    >,
    subject: &str,
) -> Vec<String> {
    let (mut names, mut token) = (Vec::new(), String::new());
    loop {
        let page = c
            .list_timers(h.req(ListTimersRequest {
                page_size: 2,
                page_token: token,
                subject: subject.into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.timers.len() <= 2);
        names.extend(page.timers.into_iter().map(|t| t.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn a_subjects_timers_list_by_due_time_page_by_page() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    // Five clocks of one return, scheduled in an order unlike their due times, and one of
    // another subject.
    let hours = [5u64, 1, 4, 2, 3];
    let mut timers = Vec::new();
    for (i, hrs) in hours.iter().enumerate() {
        let t = h
            .schedule_after(
                &mut c,
                "returns/9",
                &format!("clock_{i}"),
                Duration::from_secs(hrs * 3600),
            )
            .await;
        timers.push((*hrs, t.name));
    }
    let other = h
        .schedule_after(&mut c, "returns/10", "clock_0", Duration::from_secs(60))
        .await;

    let listed = list_all(&h, &mut c, "returns/9").await;
    timers.sort();
    let by_due: Vec<String> = timers.iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(listed, by_due, "by due time, each once, over three pages");

    // Without a subject: every timer of the owner once, in id order.
    let mut all = list_all(&h, &mut c, "").await;
    assert_eq!(all.len(), 6);
    let mut expected = by_due.clone();
    expected.push(other.name);
    expected.sort();
    all.sort();
    assert_eq!(all, expected);

    // A token of one listing does not page another, nor does a made-up one.
    let page = c
        .list_timers(h.req(ListTimersRequest {
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    for token in [page.next_page_token.as_str(), "12.nope", "yesterday"] {
        let err = c
            .list_timers(h.req(ListTimersRequest {
                page_token: token.into(),
                subject: "returns/9".into(),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "token {token}");
        assert_eq!(testkit::bad_fields(&err), ["page_token"]);
    }
    sla.stop().await;
}

/// The suite's one page rule (`kit::page`): 1 to 100 rows as asked, any other size but 0
/// (the default) refused on every listing; the page that ends a listing has no token.
#[tokio::test]
async fn listings_refuse_page_sizes_out_of_range_and_end_without_a_token() {
    let h = Harness::new().await;
    let sla = h.replica().await;
    let mut c = h.client(&sla);
    for i in 0..2 {
        h.schedule_after(
            &mut c,
            "returns/pages",
            &format!("clock_{i}"),
            Duration::from_secs(3600),
        )
        .await;
    }
    for size in [101, -1] {
        let errors = [
            c.list_timers(h.req(ListTimersRequest {
                page_size: size,
                ..Default::default()
            }))
            .await
            .unwrap_err(),
            c.list_dead_letters(h.req(ListDeadLettersRequest {
                page_size: size,
                ..Default::default()
            }))
            .await
            .unwrap_err(),
            c.list_breaches(h.req(ListBreachesRequest {
                page_size: size,
                ..Default::default()
            }))
            .await
            .unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.code(), Code::InvalidArgument, "page_size {size}");
            assert_eq!(testkit::bad_fields(&err), ["page_size"]);
        }
    }
    let page = c
        .list_timers(h.req(ListTimersRequest {
            page_size: 2,
            subject: "returns/pages".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.timers.len(), 2);
    assert!(
        page.next_page_token.is_empty(),
        "a full last page ends the listing"
    );
    sla.stop().await;
}
