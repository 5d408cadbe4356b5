//! The SLA replicas under test: `target/release/sla` processes sharing one fresh schema and
//! Redis prefix, started after one `sla migrate`, stopped with SIGTERM (then kill).

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// What every replica shares.
pub struct Setup {
    pub bin: PathBuf,
    pub schema: String,
    pub redis_prefix: String,
    /// `REPAIRS_URL`: where the timers' owner, going by `repairs` (one of the services the
    /// SLA service admits, and one not running in the bench), takes deliveries: this
    /// process.
    pub bench_url: String,
    pub log_dir: PathBuf,
}

impl Setup {
    /// The command with the environment of one replica; the rest (DATABASE_URL,
    /// REDIS_URL, AUTH_JWT_SECRET, ...) is inherited from the bench.
    fn command(&self, args: &[&str], grpc_port: u16) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("DATABASE_SCHEMA", &self.schema)
            .env("REDIS_KEY_PREFIX", &self.redis_prefix)
            .env("REPAIRS_URL", &self.bench_url)
            .env("GRPC_LISTEN", format!("127.0.0.1:{grpc_port}"))
            // Port 0 disables metrics: two replicas would otherwise fight over one port.
            .env("METRICS_LISTEN", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            // warn: logging every delivery would cost the replicas CPU the bench measures.
            .env(
                "RUST_LOG",
                std::env::var("SLA_BENCH_RUST_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null());
        cmd
    }

    fn log_file(&self, name: &str) -> anyhow::Result<(File, PathBuf)> {
        std::fs::create_dir_all(&self.log_dir)?;
        let path = self.log_dir.join(format!("{}-{name}.log", self.schema));
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok((file, path))
    }
}

/// One running replica.
struct Replica {
    child: Child,
    port: u16,
    log: PathBuf,
}

/// The running replicas; dropping them kills any still alive (the bench failed midway).
pub struct Replicas {
    running: Vec<Replica>,
}

/// A port nothing listens on now (bind to 0, read it, release it).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last lines of a log, to say why a replica died.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Replicas {
    /// Migrates the schema once (so replicas do not race on it), then starts `n` replicas
    /// and waits until each reports SERVING.
    pub async fn start(setup: &Setup, n: usize) -> anyhow::Result<Self> {
        let (log, log_path) = setup.log_file("migrate")?;
        let status = setup
            .command(&["migrate"], free_port()?)
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| format!("running {} migrate", setup.bin.display()))?;
        if !status.success() {
            bail!("sla migrate failed ({status}):\n{}", tail(&log_path, 20));
        }

        let mut replicas = Self {
            running: Vec::new(),
        };
        for i in 0..n {
            let port = free_port()?;
            let (log, log_path) = setup.log_file(&format!("replica{i}"))?;
            let child = setup
                .command(&["serve"], port)
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", setup.bin.display()))?;
            replicas.running.push(Replica {
                child,
                port,
                log: log_path,
            });
        }
        for r in &mut replicas.running {
            wait_serving(r).await?;
        }
        Ok(replicas)
    }

    /// The replicas' gRPC URLs.
    pub fn urls(&self) -> Vec<String> {
        self.running
            .iter()
            .map(|r| format!("http://127.0.0.1:{}", r.port))
            .collect()
    }

    /// The replicas' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.running.iter().map(|r| r.child.id()).collect()
    }

    /// Whether every replica is still running (a crash mid-run invalidates the figures).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for r in &mut self.running {
            if let Some(status) = r.child.try_wait()? {
                bail!(
                    "replica on port {} exited ({status}):\n{}",
                    r.port,
                    tail(&r.log, 20)
                );
            }
        }
        Ok(())
    }

    /// SIGTERM to all (graceful drain), then a kill for any still running after 10 s.
    pub async fn stop(mut self) {
        for r in &self.running {
            let _ = Command::new("kill")
                .args(["-TERM", &r.child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for r in &mut self.running {
            while matches!(r.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if matches!(r.child.try_wait(), Ok(None)) {
                eprintln!(
                    "sla-bench: replica on port {} ignored SIGTERM; killing it",
                    r.port
                );
                let _ = r.child.kill();
                let _ = r.child.wait();
            }
        }
        self.running.clear();
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for r in &mut self.running {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

/// Polls the replica's health until SERVING (migrations done, Postgres and Redis answer).
async fn wait_serving(r: &mut Replica) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}", r.port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = r.child.try_wait()? {
            bail!(
                "replica on {url} exited ({status}) before serving:\n{}",
                tail(&r.log, 20)
            );
        }
        if matches!(kit::server::check_health(&url, "").await, Ok(true)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "replica on {url} not SERVING after 60 s:\n{}",
                tail(&r.log, 20)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
