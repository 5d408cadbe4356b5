//! The scheduling phase: N timers due evenly over the window, sent as single ScheduleTimer
//! calls or BatchScheduleTimers batches with a fixed number of calls in flight.

use std::{
    collections::BTreeMap,
    ops::Range,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, BatchScheduleTimersResponse, ScheduleTimerRequest,
    ScheduleTimerResponse, Trigger, trigger::Spec,
};
use http::HeaderValue;
use tonic::{Code, Status};

use crate::conn::{self, Conn};

const SCHEDULE_TIMER: &str = "/aftersales.sla.v1.SlaService/ScheduleTimer";
const BATCH_SCHEDULE_TIMERS: &str = "/aftersales.sla.v1.SlaService/BatchScheduleTimers";

/// Single calls or batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Single,
    Batch,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batch => "batch",
        }
    }
}

/// The timers of one run: timer `i` has subject `bench/<i>` and is due at `due_ms(i)`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub timers: usize,
    /// Window start, Unix milliseconds (whole ms, like BullMQ's clock, so both sides
    /// measure against the same kind of due time).
    pub window_start_ms: u64,
    pub window_ms: u64,
    /// A label carried by every timer, naming the run.
    pub run: String,
}

impl Plan {
    pub fn due_ms(&self, i: usize) -> u64 {
        self.window_start_ms + (i as u64 * self.window_ms) / self.timers as u64
    }

    pub fn due(&self, i: usize) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.due_ms(i))
    }

    pub fn window_end(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.window_start_ms + self.window_ms)
    }

    pub fn subject(i: usize) -> String {
        format!("bench/{i}")
    }

    /// The index of a subject of this plan.
    pub fn index_of(&self, subject: &str) -> Option<usize> {
        subject
            .strip_prefix("bench/")?
            .parse()
            .ok()
            .filter(|&i| i < self.timers)
    }

    /// The run's id as a number (it is 12 hex digits), the high half of request ids.
    fn run_seed(&self) -> u64 {
        u64::from_str_radix(&self.run, 16).unwrap_or(0)
    }

    fn request(&self, i: usize) -> ScheduleTimerRequest {
        ScheduleTimerRequest {
            subject: Self::subject(i),
            kind: "bench_deadline".into(),
            trigger: Some(Trigger {
                spec: Some(Spec::DueTime(self.due(i).into())),
                start_time: None,
            }),
            // Unique per timer and run, and made without a random draw: a v4 UUID costs a
            // getrandom syscall per call, 40% of this process's syscall time in strace.
            request_id: uuid::Uuid::from_u64_pair(self.run_seed(), i as u64).to_string(),
            labels: BTreeMap::from([("bench_run".to_string(), self.run.clone())]),
            ..Default::default()
        }
    }
}

/// How the load is sent.
#[derive(Clone, Debug)]
pub struct Load {
    pub mode: Mode,
    pub concurrency: usize,
    pub batch: usize,
}

/// What the scheduling phase achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    pub scheduled: usize,
    pub errors: usize,
    /// Timers acknowledged only after their due time: they could not fire on time.
    pub late_scheduled: usize,
    /// Calls repeated after a transient error (same request_id, so idempotent).
    pub retries: usize,
    pub first_error: Option<String>,
    /// Index ranges whose call failed for good: not counted as missing if never fired.
    pub failed: Vec<Range<usize>>,
    pub elapsed: Duration,
}

/// Transient failures worth a retry with the same request_id.
fn transient(s: &Status) -> bool {
    matches!(
        s.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted | Code::DeadlineExceeded
    )
}

const ATTEMPTS: u32 = 5;
/// Each call's deadline, in gRPC's grpc-timeout header form (30 s).
const CALL_TIMEOUT: &str = "30S";

/// Sends every timer of `plan` over `channels` (round-robin per worker) with
/// `load.concurrency` calls in flight; the wall time is the scheduling phase.
pub async fn schedule(
    plan: &Plan,
    load: &Load,
    channels: &[Conn],
    token: &str,
) -> anyhow::Result<Outcome> {
    let bearer = HeaderValue::try_from(format!("Bearer {token}"))?;
    let timeout = HeaderValue::from_static(CALL_TIMEOUT);
    let unit = match load.mode {
        Mode::Single => 1,
        Mode::Batch => load.batch,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(Mutex::new(Outcome::default()));
    let started = Instant::now();

    let mut workers = Vec::with_capacity(load.concurrency);
    for w in 0..load.concurrency {
        let (conn, plan, next, total, bearer, timeout, mode) = (
            channels[w % channels.len()].clone(),
            plan.clone(),
            next.clone(),
            total.clone(),
            bearer.clone(),
            timeout.clone(),
            load.mode,
        );
        workers.push(tokio::spawn(async move {
            let mut mine = Outcome::default();
            loop {
                // Work is taken in index order, so timers are scheduled roughly in due order.
                let start = next.fetch_add(unit, Ordering::Relaxed);
                if start >= plan.timers {
                    break;
                }
                let end = (start + unit).min(plan.timers);
                // Encoded once: a retry sends the same bytes.
                let (path, body) = match mode {
                    Mode::Single => (SCHEDULE_TIMER, conn::frame(&plan.request(start))),
                    Mode::Batch => (
                        BATCH_SCHEDULE_TIMERS,
                        conn::frame(&BatchScheduleTimersRequest {
                            requests: (start..end).map(|i| plan.request(i)).collect(),
                        }),
                    ),
                };
                let mut attempt = 0;
                let result = loop {
                    attempt += 1;
                    let body = body.clone();
                    let res = match mode {
                        Mode::Single => conn
                            .unary::<ScheduleTimerResponse>(path, &bearer, &timeout, body)
                            .await
                            .map(drop),
                        Mode::Batch => conn
                            .unary::<BatchScheduleTimersResponse>(path, &bearer, &timeout, body)
                            .await
                            .map(drop),
                    };
                    match res {
                        Err(s) if transient(&s) && attempt < ATTEMPTS => {
                            mine.retries += 1;
                            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                        }
                        other => break other,
                    }
                };
                match result {
                    Ok(()) => {
                        mine.scheduled += end - start;
                        let now = SystemTime::now();
                        mine.late_scheduled += (start..end).filter(|&i| plan.due(i) < now).count();
                    }
                    Err(s) => {
                        mine.errors += end - start;
                        mine.failed.push(start..end);
                        mine.first_error
                            .get_or_insert_with(|| format!("{:?}: {}", s.code(), s.message()));
                    }
                }
            }
            let mut t = total.lock().expect("outcome");
            t.scheduled += mine.scheduled;
            t.errors += mine.errors;
            t.late_scheduled += mine.late_scheduled;
            t.retries += mine.retries;
            t.failed.extend(mine.failed);
            if t.first_error.is_none() {
                t.first_error = mine.first_error;
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let mut outcome = std::mem::take(&mut *total.lock().expect("outcome"));
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
