//! `ingest-bench`: the write paths of the suite at a fixed concurrency, each against a
//! reference measured in the same run on the same Postgres (pgbench running the raw SQL
//! of an equivalent write).
//!
//! Usage: ingest-bench <webhook|create-return> [--bin-dir target/release]
//!        [--requests 20000] [--concurrency 32] [--shipments 1000] [--pgbench-seconds 10]
//! `--shipments`: parcels registered (webhook) or orders put in the sandbox (returns).
//! Needs DATABASE_URL, REDIS_URL and AUTH_JWT_SECRET (deploy/local/infra.sh provides them).
//! Prints one human line and one JSON line (`{"system":...}`); exits non-zero when a
//! request failed or an acknowledged write is missing.

mod complaints;
mod load;
mod pg;
mod returns;
mod service;
mod webhook;

use anyhow::{Context, bail};
use kit::auth::{Role, Tokens};

/// Command-line settings.
pub struct Args {
    mode: String,
    bin_dir: String,
    requests: usize,
    concurrency: usize,
    shipments: usize,
    pgbench_seconds: u32,
    db_url: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    let mode = it
        .next()
        .context("mode: webhook, create-return or create-complaint")?
        .clone();
    let mut a = Args {
        mode,
        bin_dir: "target/release".into(),
        requests: 20_000,
        concurrency: 32,
        shipments: 1_000,
        pgbench_seconds: 10,
        db_url: std::env::var("DATABASE_URL").context("DATABASE_URL")?,
    };
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bin-dir" => a.bin_dir = value.clone(),
            "--requests" => a.requests = value.parse()?,
            "--concurrency" => a.concurrency = value.parse()?,
            "--shipments" => a.shipments = value.parse()?,
            "--pgbench-seconds" => a.pgbench_seconds = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

/// What a run measured.
pub struct Outcome {
    system: &'static str,
    requests: usize,
    concurrency: usize,
    seconds: f64,
    rate: f64,
    p50: f64,
    p99: f64,
    failed: usize,
    stored: i64,
    lost: i64,
    reference: f64,
    reference_name: &'static str,
}

impl Outcome {
    #[allow(clippy::too_many_arguments)]
    fn new(
        system: &'static str,
        a: &Args,
        mut lat: Vec<f64>,
        failed: usize,
        stored: i64,
        seconds: f64,
        reference: f64,
        reference_name: &'static str,
    ) -> Self {
        lat.sort_by(|x, y| x.total_cmp(y));
        Self {
            system,
            requests: a.requests,
            concurrency: a.concurrency,
            seconds,
            rate: lat.len() as f64 / seconds,
            p50: pg::percentile(&lat, 50.0),
            p99: pg::percentile(&lat, 99.0),
            failed,
            stored,
            lost: lat.len() as i64 - stored,
            reference,
            reference_name,
        }
    }

    fn print(&self) {
        let ratio = self.rate / self.reference;
        println!(
            "{}: {} requests at concurrency {} in {:.1}s = {:.0}/s (p50 {:.1} ms, p99 {:.1} ms), {} failed, {} stored, {} lost | reference ({}, best of c={} and c=10, before and after): {:.0} TPS | ratio {:.2}",
            self.system,
            self.requests,
            self.concurrency,
            self.seconds,
            self.rate,
            self.p50,
            self.p99,
            self.failed,
            self.stored,
            self.lost,
            self.reference_name,
            self.concurrency,
            self.reference,
            ratio
        );
        println!(
            r#"{{"system":"{}","requests":{},"concurrency":{},"seconds":{:.3},"per_s":{:.1},"p50_ms":{:.2},"p99_ms":{:.2},"failed":{},"stored":{},"lost":{},"reference_tps":{:.1},"ratio":{:.3}}}"#,
            self.system,
            self.requests,
            self.concurrency,
            self.seconds,
            self.rate,
            self.p50,
            self.p99,
            self.failed,
            self.stored,
            self.lost,
            self.reference,
            ratio
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = parse_args()?;
    let secret = std::env::var("AUTH_JWT_SECRET").context("AUTH_JWT_SECRET")?;
    let outcome = match a.mode.as_str() {
        "webhook" => {
            let token =
                Tokens::new(&secret, "aftersales").mint(Role::Service, "returns", None, 3600);
            webhook::run(&a, &token).await?
        }
        "create-return" => returns::run(&a, &secret).await?,
        "create-complaint" => complaints::run(&a, &secret).await?,
        other => bail!("unknown mode {other}: webhook, create-return or create-complaint"),
    };
    outcome.print();
    if outcome.failed > 0 || outcome.lost != 0 {
        bail!(
            "{} requests failed, {} acknowledged writes missing",
            outcome.failed,
            outcome.lost
        );
    }
    Ok(())
}
