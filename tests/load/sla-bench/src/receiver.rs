//! The bench's `TimerCallback`: the owner ("repairs" by its token) that the SLA replicas deliver to. It
//! records every delivery with the instant it arrived and answers OK at once.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind,
    timer_callback_server::{TimerCallback, TimerCallbackServer},
};
use tokio::{net::TcpListener, sync::watch};
use tonic::{Request, Response, Status};

/// One delivery as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub delivery_id: String,
    pub timer: String,
    pub subject: String,
    pub event_kind: i32,
    /// The timer's due time as the service sent it.
    pub due: Option<SystemTime>,
    /// When the service says it fired (after its lease confirmation, before its call).
    pub fired: Option<SystemTime>,
    /// When the call reached our handler: the end of the firing path we measure.
    pub received: SystemTime,
}

#[derive(Default)]
struct Log {
    deliveries: Vec<Delivery>,
    /// Timers with at least one expiry delivered, to tell when every timer has arrived.
    timers: HashSet<String>,
}

/// What the receiver recorded; shared by the gRPC handler and the bench.
#[derive(Clone)]
pub struct Recorder {
    log: Arc<Mutex<Log>>,
    distinct: Arc<watch::Sender<usize>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            log: Arc::default(),
            distinct: Arc::new(watch::channel(0).0),
        }
    }

    /// Watches the number of distinct timers whose expiry arrived.
    pub fn distinct(&self) -> watch::Receiver<usize> {
        self.distinct.subscribe()
    }

    /// Every delivery so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().expect("receiver log").deliveries.clone()
    }

    fn record(&self, d: Delivery) {
        let mut log = self.log.lock().expect("receiver log");
        let first =
            d.event_kind == TimerEventKind::Expired as i32 && log.timers.insert(d.timer.clone());
        log.deliveries.push(d);
        if first {
            let n = log.timers.len();
            // Sent under the lock so the count never goes backwards.
            self.distinct.send_replace(n);
        }
    }
}

struct Receiver {
    recorder: Recorder,
}

#[tonic::async_trait]
impl TimerCallback for Receiver {
    async fn on_timer_event(
        &self,
        request: Request<OnTimerEventRequest>,
    ) -> Result<Response<OnTimerEventResponse>, Status> {
        // Taken first, before any work of ours, so our own cost is not billed to the service.
        let received = SystemTime::now();
        let r = request.into_inner();
        self.recorder.record(Delivery {
            delivery_id: r.delivery_id,
            timer: r.timer,
            subject: r.subject,
            event_kind: r.event_kind,
            due: r.due_time.and_then(|t| SystemTime::try_from(t).ok()),
            fired: r.fired_time.and_then(|t| SystemTime::try_from(t).ok()),
            received,
        });
        // Always OK: a non-OK answer would make the service retry, which is a different
        // thing from the duplicates under normal operation that we count.
        Ok(Response::new(OnTimerEventResponse {}))
    }
}

/// Starts the receiver on 127.0.0.1 (a free port) and returns its address and recorder.
/// No token check: the bench trusts the replicas it started itself.
pub async fn start() -> anyhow::Result<(SocketAddr, Recorder)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let recorder = Recorder::new();
    let service = TimerCallbackServer::new(Receiver {
        recorder: recorder.clone(),
    });
    tokio::spawn(async move {
        if let Err(e) = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming(listener))
            .await
        {
            eprintln!("sla-bench: receiver stopped: {e}");
        }
    });
    Ok((addr, recorder))
}

/// Accepted connections as a stream, with Nagle off: each delivery is a small request
/// whose answer must not wait (tokio-stream is not a dependency of this crate).
fn incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let conn = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((conn, listener))
    })
}
