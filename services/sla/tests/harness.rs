//! Harness for the SLA service's tests: a real owner (a `TimerCallback` server that records
//! every delivery and can be told to fail or hang), the SLA service in-process with short
//! leases, and a client holding the owner's service token.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use aftersales_proto::aftersales::sla::v1::{
    DeadLetter, ListDeadLettersRequest, OnTimerEventRequest, OnTimerEventResponse,
    ScheduleTimerRequest, Timer, Trigger,
    sla_service_client::SlaServiceClient,
    timer_callback_server::{TimerCallback, TimerCallbackServer},
    trigger::Spec,
};
use kit::auth::Role;
use testkit::{Running, World, authed};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, transport::Channel};

/// A trigger that fires `d` from now.
pub fn after(d: Duration) -> Option<Trigger> {
    Some(Trigger {
        spec: Some(Spec::After(prost_types::Duration {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        })),
        start_time: None,
    })
}

/// One delivery as the owner saw it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub delivery_id: String,
    pub timer: String,
    pub subject: String,
    pub event_kind: i32,
    pub reminder_index: u32,
    pub attempt: u32,
    pub received: SystemTime,
    pub due: SystemTime,
}

/// How the owner answers deliveries for subjects starting with a prefix.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Fail the first `n` attempts, then succeed.
    FailTimes(u32),
    /// Always fail.
    FailAlways,
    /// Take this long before answering OK.
    Hang(Duration),
}

/// A recording owner service.
#[derive(Clone, Default)]
pub struct Owner {
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
    pub behaviours: Arc<Mutex<BTreeMap<String, Behaviour>>>,
}

#[tonic::async_trait]
impl TimerCallback for Owner {
    async fn on_timer_event(
        &self,
        req: Request<OnTimerEventRequest>,
    ) -> Result<Response<OnTimerEventResponse>, Status> {
        let r = req.into_inner();
        let behaviour = self
            .behaviours
            .lock()
            .unwrap()
            .iter()
            .find(|(prefix, _)| r.subject.starts_with(prefix.as_str()))
            .map(|(_, b)| *b);
        let record = |r: &OnTimerEventRequest| {
            let due = r.due_time.as_ref().unwrap();
            Delivery {
                delivery_id: r.delivery_id.clone(),
                timer: r.timer.clone(),
                subject: r.subject.clone(),
                event_kind: r.event_kind,
                reminder_index: r.reminder_index,
                attempt: r.attempt,
                received: SystemTime::now(),
                due: SystemTime::UNIX_EPOCH + Duration::new(due.seconds as u64, due.nanos as u32),
            }
        };
        match behaviour {
            Some(Behaviour::FailAlways) => Err(Status::unavailable("owner down")),
            Some(Behaviour::FailTimes(n)) if r.attempt <= n => {
                Err(Status::unavailable("owner busy"))
            }
            Some(Behaviour::Hang(d)) => {
                tokio::time::sleep(d).await;
                self.deliveries.lock().unwrap().push(record(&r));
                Ok(Response::new(OnTimerEventResponse {}))
            }
            _ => {
                self.deliveries.lock().unwrap().push(record(&r));
                Ok(Response::new(OnTimerEventResponse {}))
            }
        }
    }
}

impl Owner {
    /// Deliveries of a subject (or all with "").
    pub fn of(&self, subject_prefix: &str) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.subject.starts_with(subject_prefix))
            .cloned()
            .collect()
    }

    /// Waits until a subject was delivered at least once (panics after `within`).
    pub async fn wait_delivered(&self, subject_prefix: &str, within: Duration) {
        testkit::eventually(within, || {
            let n = self.of(subject_prefix).len();
            async move { n >= 1 }
        })
        .await;
    }

    /// Sets the behaviour for subjects starting with `prefix`.
    pub fn behave(&self, prefix: &str, b: Behaviour) {
        self.behaviours
            .lock()
            .unwrap()
            .insert(prefix.to_string(), b);
    }

    /// Back to answering OK at once.
    pub fn heal(&self) {
        self.behaviours.lock().unwrap().clear();
    }
}

/// The owner server, the world and SLA replicas.
pub struct Harness {
    pub world: World,
    pub owner: Owner,
    pub token: String,
}

impl Harness {
    /// Starts the owner ("returns") and prepares a world pointing the SLA service at it.
    pub async fn new() -> Self {
        let owner = Owner::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let svc = TimerCallbackServer::new(owner.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        let mut world = World::new();
        world.set("RETURNS_URL", url);
        world.set("SLA_MAX_ATTEMPTS", "3");
        world.set("SLA_LEASE", "2s");
        world.set("SLA_STRAGGLER_GRACE", "1s");
        let token = world.token(Role::Service, "returns");
        Self {
            world,
            owner,
            token,
        }
    }

    /// Starts one SLA replica and waits until it serves.
    pub async fn replica(&self) -> Running {
        let r = self.world.start(sla::SPEC, sla::setup).await;
        r.wait_serving().await;
        r
    }

    /// A client of `replica` with the owner's token applied per call via [`Harness::req`].
    pub fn client(&self, replica: &Running) -> SlaServiceClient<Channel> {
        SlaServiceClient::new(replica.channel())
    }

    /// Wraps a message with the owner's token.
    pub fn req<T>(&self, m: T) -> Request<T> {
        authed(m, &self.token)
    }

    /// Schedules `subject` / `kind` to fire after `after`.
    pub async fn schedule_after(
        &self,
        c: &mut SlaServiceClient<Channel>,
        subject: &str,
        kind: &str,
        after: Duration,
    ) -> Timer {
        c.schedule_timer(self.req(ScheduleTimerRequest {
            subject: subject.into(),
            kind: kind.into(),
            trigger: self::after(after),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .timer
        .unwrap()
    }
}

impl Harness {
    /// The owner's dead letters, oldest first.
    pub async fn dead_letters(&self, c: &SlaServiceClient<Channel>) -> Vec<DeadLetter> {
        c.clone()
            .list_dead_letters(self.req(ListDeadLettersRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .dead_letters
    }

    /// The events of type `M` published on the `sla` stream so far, decoded.
    pub async fn published<M: prost::Message + prost::Name + Default>(&self) -> Vec<M> {
        testkit::published(&self.world, "sla")
            .await
            .into_iter()
            .filter(|e| e.r#type == M::full_name())
            .map(|e| M::decode(e.data.as_slice()).unwrap())
            .collect()
    }
}

/// Milliseconds from `a` to `b` (negative when b is earlier).
pub fn ms_between(a: SystemTime, b: SystemTime) -> i64 {
    match b.duration_since(a) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}
