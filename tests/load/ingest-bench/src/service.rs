//! The services under test, as child processes of the bench: a fresh schema each,
//! migrated first, killed when dropped (also when the bench fails midway).

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A port nothing listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One running service.
pub struct Service {
    child: Child,
    pub url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Migrates and starts `bin_dir/name` on a free port with `env` (plus DATABASE_URL,
/// REDIS_URL and AUTH_JWT_SECRET inherited from the bench), waiting until SERVING.
pub async fn start(
    bin_dir: &Path,
    name: &str,
    schema: &str,
    env: &[(&str, String)],
) -> anyhow::Result<Service> {
    let port = free_port()?;
    let command = |arg: &str| {
        let mut cmd = Command::new(bin_dir.join(name));
        cmd.arg(arg)
            .env("DATABASE_SCHEMA", schema)
            .env("REDIS_KEY_PREFIX", format!("{schema}:"))
            .env("GRPC_LISTEN", format!("127.0.0.1:{port}"))
            .env("METRICS_LISTEN", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            // warn: logging every call would cost CPU the bench measures
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    };
    if name != "platform-sandbox" && !command("migrate").status()?.success() {
        bail!("{name} migrate failed");
    }
    let child = command("serve")
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let service = Service {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kit::server::check_health(&service.url, "")
        .await
        .unwrap_or(false)
    {
        if Instant::now() > deadline {
            bail!("{name} did not become SERVING");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(service)
}
