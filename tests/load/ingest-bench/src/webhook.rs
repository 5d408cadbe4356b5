//! The carrier webhook run: signed events posted at a fixed concurrency over keep-alive
//! HTTP/1.1 connections, every acknowledged event checked as stored; the reference is
//! pgbench inserting the event row and its outbox row in one transaction.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use aftersales_proto::aftersales::logistics::v1::{
    RegisterShipmentRequest, ShipmentLeg, logistics_service_client::LogisticsServiceClient,
};
use anyhow::Context;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use crate::{Args, Outcome, pg, service};

const PARTNER: &str = "bench-partner";
const SECRET: &str = "bench-partner-secret-0123456789";

const REFERENCE: &str = "\\set n random(1, 1000000000)\n\
BEGIN;\n\
INSERT INTO carrier_events (carrier_code, event_id, tracking_number, status, event_time, location, description)\n\
  VALUES ('ref', 'ref-' || :client_id || '-' || :n || '-' || clock_timestamp(), 'REF' || :n, 2, now(), 'Shanghai hub', 'scan');\n\
INSERT INTO outbox (kind, topic, key, payload) VALUES ('event', 'ref', gen_random_uuid()::text, '\\x00');\n\
COMMIT;\n";

/// One keep-alive HTTP/1.1 connection to the webhook.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    /// Posts one signed event; returns the HTTP status.
    async fn post(&mut self, body: &str) -> anyhow::Result<u16> {
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = logistics::sign(SECRET.as_bytes(), &ts, body.as_bytes());
        let req = format!(
            "POST /v1/carriers/sf/events HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Partner-Id: {PARTNER}\r\nX-Timestamp: {ts}\r\nX-Signature: {sig}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.reader.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .context("status line")?
            .parse()?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok(status)
    }
}

fn event_body(i: usize, shipments: usize, base: i64) -> String {
    const STATUSES: [&str; 3] = ["PICKED_UP", "IN_TRANSIT", "OUT_FOR_DELIVERY"];
    let at = chrono::DateTime::from_timestamp(base + i as i64, 0)
        .expect("in range")
        .to_rfc3339();
    format!(
        r#"{{"eventId":"bench-{i}","trackingNumber":"BENCH{}","status":"{}","eventTime":"{at}","location":"Shanghai hub","description":"scan"}}"#,
        i % shipments,
        STATUSES[i % 3]
    )
}

/// Runs the webhook benchmark.
pub async fn run(a: &Args, token: &str) -> anyhow::Result<Outcome> {
    let schema = format!(
        "bench_logistics_{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let hook = service::free_port()?;
    let partners = format!(r#"[{{"id":"{PARTNER}","carriers":["sf"],"secrets":["{SECRET}"]}}]"#);
    let env = [
        ("LOGISTICS_WEBHOOK_LISTEN", format!("127.0.0.1:{hook}")),
        ("LOGISTICS_PARTNERS", partners),
        ("PLATFORM_URL", "http://127.0.0.1:9".to_string()),
    ];
    let logistics = service::start(Path::new(&a.bin_dir), "logistics", &schema, &env).await?;

    // The parcels the events are about.
    let channel = tonic::transport::Endpoint::from_shared(logistics.url.clone())?
        .connect()
        .await?;
    for i in 0..a.shipments {
        let mut req = tonic::Request::new(RegisterShipmentRequest {
            case_name: format!("returns/bench-{i}"),
            leg: ShipmentLeg::Return as i32,
            carrier_code: "sf".into(),
            tracking_number: format!("BENCH{i}"),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        });
        req.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        LogisticsServiceClient::new(channel.clone())
            .register_shipment(req)
            .await?;
    }

    let addr = format!("127.0.0.1:{hook}");
    let base = chrono::Utc::now().timestamp() - 3 * a.requests as i64;
    // The reference before and after the load; the better one counts.
    let before = pg::best_tps(
        &a.db_url,
        &schema,
        REFERENCE,
        a.concurrency,
        a.pgbench_seconds,
    )?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency {
        let (next, addr, n, s) = (next.clone(), addr.clone(), a.requests, a.shipments);
        workers.spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let body = event_body(i, s, base);
                let t = Instant::now();
                match conn.post(&body).await {
                    Ok(200) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(_) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        conn = Conn::open(&addr).await?;
                    }
                }
            }
            anyhow::Ok((lat, failed))
        });
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    while let Some(r) = workers.join_next().await {
        let (l, f) = r??;
        lat.extend(l);
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(logistics);
    let stored = pg::count(
        &a.db_url,
        &format!("SELECT count(*) FROM {schema}.carrier_events WHERE carrier_code = 'sf'"),
    )
    .await?;
    let reference = pg::best_tps(
        &a.db_url,
        &schema,
        REFERENCE,
        a.concurrency,
        a.pgbench_seconds,
    )?
    .max(before);
    pg::drop_schema(&a.db_url, &schema).await?;
    Ok(Outcome::new(
        "logistics-webhook",
        a,
        lat,
        failed,
        stored,
        seconds,
        reference,
        "pgbench event insert + outbox insert",
    ))
}
