//! `webhook-bench`: carrier events posted to the logistics webhook, signed like a partner
//! does, at a fixed concurrency over keep-alive connections; then the same number of
//! transactions of the equivalent raw SQL (insert the event, insert its outbox row) with
//! pgbench at the same concurrency, on the same Postgres, in the same run.
//!
//! Usage: webhook-bench --logistics-bin target/release/logistics [--events 20000]
//!        [--concurrency 32] [--shipments 1000] [--pgbench-seconds 10]
//! Needs DATABASE_URL, REDIS_URL and AUTH_JWT_SECRET (deploy/local/infra.sh provides them).
//! Prints one human line and one JSON line (`{"system":...}`).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use aftersales_proto::aftersales::logistics::v1::{
    RegisterShipmentRequest, ShipmentLeg, logistics_service_client::LogisticsServiceClient,
};
use anyhow::{Context, bail};
use kit::auth::{Role, Tokens};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

const PARTNER: &str = "bench-partner";
const SECRET: &str = "bench-partner-secret-0123456789";

struct Args {
    bin: String,
    events: usize,
    concurrency: usize,
    shipments: usize,
    pgbench_seconds: u32,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        bin: "target/release/logistics".into(),
        events: 20_000,
        concurrency: 32,
        shipments: 1_000,
        pgbench_seconds: 10,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--logistics-bin" => a.bin = value.clone(),
            "--events" => a.events = value.parse()?,
            "--concurrency" => a.concurrency = value.parse()?,
            "--shipments" => a.shipments = value.parse()?,
            "--pgbench-seconds" => a.pgbench_seconds = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The logistics process; killed when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn command(bin: &str, schema: &str, grpc: u16, hook: u16, arg: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg(arg)
        .env("DATABASE_SCHEMA", schema)
        .env("REDIS_KEY_PREFIX", format!("{schema}:"))
        .env("GRPC_LISTEN", format!("127.0.0.1:{grpc}"))
        .env("METRICS_LISTEN", "127.0.0.1:0")
        .env("LOGISTICS_WEBHOOK_LISTEN", format!("127.0.0.1:{hook}"))
        .env(
            "LOGISTICS_PARTNERS",
            format!(r#"[{{"id":"{PARTNER}","carriers":["sf"],"secrets":["{SECRET}"]}}]"#),
        )
        .env("PLATFORM_URL", "http://127.0.0.1:9")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx]
}

/// pgbench: the same concurrency, one transaction = the event insert and its outbox row.
fn pgbench(url: &str, schema: &str, clients: usize, seconds: u32) -> anyhow::Result<f64> {
    let script = std::env::temp_dir().join(format!("{schema}.sql"));
    std::fs::write(
        &script,
        "\\set n random(1, 1000000000)\n\
         BEGIN;\n\
         INSERT INTO carrier_events (carrier_code, event_id, tracking_number, status, event_time, location, description)\n\
           VALUES ('ref', 'ref-' || :client_id || '-' || :n || '-' || clock_timestamp(), 'REF' || :n, 2, now(), 'Shanghai hub', 'scan');\n\
         INSERT INTO outbox (kind, topic, key, payload) VALUES ('event', 'ref', gen_random_uuid()::text, '\\x00');\n\
         COMMIT;\n",
    )?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no tps in pgbench output")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = parse_args()?;
    let db_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let secret = std::env::var("AUTH_JWT_SECRET").context("AUTH_JWT_SECRET")?;
    let schema = format!(
        "bench_logistics_{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let (grpc, hook) = (free_port()?, free_port()?);

    let migrated = command(&a.bin, &schema, grpc, hook, "migrate").status()?;
    if !migrated.success() {
        bail!("logistics migrate failed");
    }
    let _service = Service(command(&a.bin, &schema, grpc, hook, "serve").spawn()?);
    let url = format!("http://127.0.0.1:{grpc}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kit::server::check_health(&url, "").await.unwrap_or(false) {
        if Instant::now() > deadline {
            bail!("logistics did not become SERVING");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The parcels the events are about.
    let token = Tokens::new(&secret, "aftersales").mint(Role::Service, "returns", None, 3600);
    let channel = tonic::transport::Endpoint::from_shared(url)?
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

    // Post the events.
    let addr = format!("127.0.0.1:{hook}");
    let base = chrono::Utc::now().timestamp() - 3 * a.events as i64;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..a.concurrency {
        let (next, addr, n, s) = (next.clone(), addr.clone(), a.events, a.shipments);
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
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_by(|x, y| x.total_cmp(y));
    let rate = lat.len() as f64 / elapsed;

    // Zero loss: every acknowledged event is stored.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await?;
    let stored: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.carrier_events"))
        .fetch_one(&pool)
        .await?;
    let lost = lat.len() as i64 - stored;

    // The reference is the better of pgbench at the bench's concurrency and at the
    // service's pool size (10 connections): whichever suits Postgres's group commit on
    // this machine, so the ratio is never flattered by a poor reference.
    let tps = pgbench(&db_url, &schema, a.concurrency, a.pgbench_seconds)?.max(pgbench(
        &db_url,
        &schema,
        10,
        a.pgbench_seconds,
    )?);
    let ratio = rate / tps;
    println!(
        "webhook: {} events at concurrency {} in {:.1}s = {:.0} events/s (p50 {:.1} ms, p99 {:.1} ms), {} refused, {} stored, {} lost | raw Postgres (pgbench event insert + outbox insert, best of c={} and c=10) {:.0} TPS | ratio {:.2}",
        a.events,
        a.concurrency,
        elapsed,
        rate,
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        failed,
        stored,
        lost,
        a.concurrency,
        tps,
        ratio
    );
    println!(
        r#"{{"system":"logistics-webhook","events":{},"concurrency":{},"seconds":{:.3},"events_per_s":{:.1},"p50_ms":{:.2},"p99_ms":{:.2},"refused":{},"stored":{},"lost":{},"pgbench_tps":{:.1},"ratio":{:.3}}}"#,
        a.events,
        a.concurrency,
        elapsed,
        rate,
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        failed,
        stored,
        lost,
        tps,
        ratio
    );
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await?;
    if failed > 0 || lost != 0 {
        bail!("{failed} events refused, {lost} lost");
    }
    Ok(())
}
