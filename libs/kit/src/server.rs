//! Running a service: bind, serve health (NOT_SERVING) and reflection at once, run the
//! migrations, start the outbox dispatcher and the service's own background tasks, then
//! report SERVING once the database and Redis answer. Shutdown (SIGTERM, or the token in
//! tests) flips health to NOT_SERVING, drains in-flight calls and stops every task.

use std::{
    future::Future,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::future::BoxFuture;
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    auth::{Policy, Rule, Tokens},
    client::Peers,
    config::{Config, Env},
    db, descriptor, idempotency,
    layer::KitLayer,
    outbox::Dispatcher,
    telemetry,
};

/// What a service is, statically.
#[derive(Clone, Copy, Debug)]
pub struct ServiceSpec {
    /// Its name (schema, consumer group, token subject).
    pub name: &'static str,
    /// Its default gRPC port (SPEC §2).
    pub default_port: u16,
    /// Its gRPC service names, reported in health and listed by reflection.
    pub grpc_services: &'static [&'static str],
    /// Who may call each method of those services: the service's `access.rs` table, the
    /// one place its rules are read (see [`crate::auth::Rule`]).
    pub access: &'static [Rule],
    /// Its migrations; `None` for a service without a database (the sandbox).
    pub migrator: Option<&'static Migrator>,
}

/// What `setup` gets to build the service with.
#[derive(Clone)]
pub struct Ctx {
    /// Shared settings.
    pub cfg: Arc<Config>,
    /// The pool on the service's schema (lazy: usable once ready).
    pub db: Option<PgPool>,
    /// Redis client (connections are made by whoever needs one).
    pub redis: redis::Client,
    /// Token signing and verification.
    pub tokens: Tokens,
    /// Channels to peer services.
    pub peers: Peers,
    /// Cancelled at shutdown; every background task obeys it.
    pub shutdown: CancellationToken,
}

impl Ctx {
    /// The pool; services that declared migrations always have one.
    pub fn pool(&self) -> PgPool {
        self.db.clone().expect("service declared no database")
    }
}

/// What `setup` returns: the gRPC routes and background work to start once migrations
/// have run. Who may call the routes is the spec's `access` table.
pub struct App {
    /// The service's gRPC services.
    pub routes: Routes,
    /// Background tasks (consumers, timers); started after migrations.
    pub tasks: Vec<BoxFuture<'static, ()>>,
}

/// Serves `spec` on `listener` until `shutdown` is cancelled.
pub async fn serve<F, Fut>(
    spec: ServiceSpec,
    cfg: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    setup: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = anyhow::Result<App>>,
{
    let policy = access_policy(&spec)?;
    // A bad retention stops the start, before anything is bound or migrated.
    let idempotency_retention = idempotency::retention(&cfg)?;
    let cfg = Arc::new(cfg);
    let tokens = Tokens::new(&cfg.jwt_secret, &cfg.jwt_issuer);
    let db = match spec.migrator {
        Some(_) => Some(db::pool(&cfg)?),
        None => None,
    };
    let redis = redis::Client::open(cfg.redis_url.as_str())?;
    let peers = Peers::new(cfg.clone(), tokens.clone());
    let ctx = Ctx {
        cfg: cfg.clone(),
        db: db.clone(),
        redis: redis.clone(),
        tokens: tokens.clone(),
        peers: peers.clone(),
        shutdown: shutdown.clone(),
    };
    let app = setup(ctx).await?;

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(
        health.clone(),
        spec.grpc_services,
        ServingStatus::NotServing,
    )
    .await;
    let ready = Arc::new(AtomicBool::new(false));
    let served = descriptor::method_paths(spec.grpc_services);
    let layer = KitLayer::new(spec.name, tokens, policy, served, ready.clone());
    let server = tonic::transport::Server::builder()
        .layer(layer)
        .add_routes(
            app.routes
                .add_service(health_service)
                .add_service(reflection(spec.grpc_services).build_v1()?)
                .add_service(reflection(spec.grpc_services).build_v1alpha()?),
        )
        .serve_with_incoming_shutdown(incoming(listener), {
            let shutdown = shutdown.clone();
            let health = health.clone();
            let services = spec.grpc_services;
            async move {
                shutdown.cancelled().await;
                // Tell load balancers first, then let tonic drain in-flight calls.
                set_health(health, services, ServingStatus::NotServing).await;
            }
        });
    // Aborted if this future is dropped (a killed replica in tests stops serving too).
    let mut server = AbortOnDrop(tokio::spawn(server));

    let mut tasks = tokio::task::JoinSet::new();
    if let (Some(pool), Some(migrator)) = (db.clone(), spec.migrator) {
        // Returns early (unmigrated) only when shutdown was requested meanwhile.
        migrate_until_done(
            pool.clone(),
            cfg.database_schema.clone(),
            migrator,
            shutdown.clone(),
        )
        .await;
        // Idempotency answers hold requests' content (descriptions, payment references):
        // every service with a database drops them past their retention (PIPL).
        tasks.spawn(idempotency::purge_loop(
            pool.clone(),
            idempotency_retention,
            shutdown.clone(),
        ));
        let dispatcher = Dispatcher::new(
            pool,
            &cfg.database_schema,
            redis.clone(),
            &cfg.redis_prefix,
            peers.clone(),
            cfg.outbox_poll,
            cfg.outbox_retention,
        );
        tasks.spawn(dispatcher.run(shutdown.clone()));
    }
    for task in app.tasks {
        tasks.spawn(task);
    }
    tasks.spawn(watch_readiness(
        spec.grpc_services,
        spec.name,
        db.clone(),
        redis.clone(),
        health.clone(),
        ready.clone(),
        shutdown.clone(),
    ));

    let result = (&mut server.0).await;
    shutdown.cancel();
    // Background tasks observe the token; give them a moment to finish their step.
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    result??;
    Ok(())
}

/// The policy of `spec`'s access table, checked against the contracts. A rule for a method
/// the port does not serve (a typo, which would leave the real method closed and the rule
/// dead) stops the start. [`unruled_methods`] lists served methods without a rule: they
/// stay closed (deny by default), the start logs them, and the suite's access test fails
/// on any in a real service.
pub fn access_policy(spec: &ServiceSpec) -> anyhow::Result<Policy> {
    let policy = Policy::from_rules(spec.access).map_err(anyhow::Error::msg)?;
    let served = descriptor::method_paths(spec.grpc_services);
    let stray: Vec<String> = spec
        .access
        .iter()
        .map(Rule::path)
        .filter(|p| !served.contains(p))
        .collect();
    anyhow::ensure!(
        stray.is_empty(),
        "{}: access rules for methods this port does not serve: {stray:?}",
        spec.name
    );
    let missing = unruled_methods(spec);
    if !missing.is_empty() {
        tracing::error!(
            service = spec.name,
            ?missing,
            "methods without an access rule stay closed"
        );
    }
    Ok(policy)
}

/// The methods `spec` serves that its access table has no rule for.
pub fn unruled_methods(spec: &ServiceSpec) -> Vec<String> {
    let ruled: std::collections::BTreeSet<String> = spec.access.iter().map(Rule::path).collect();
    descriptor::method_paths(spec.grpc_services)
        .into_iter()
        .filter(|p| !ruled.contains(p))
        .collect()
}

/// Server reflection listing this port's own services (and health), not every contract
/// of the descriptor set: a client offered a service the port does not serve could only
/// fail. Served as v1 and as v1alpha, which older grpcurl, Postman and Kreya speak.
fn reflection(services: &[&str]) -> tonic_reflection::server::Builder<'static> {
    let mut b = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(aftersales_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for s in services {
        b = b.with_service_name(*s);
    }
    b
}

// Boxed as `dyn Send` here, in a non-generic function: inside the generic `serve` future
// rustc cannot prove these futures Send for every lifetime (rust-lang/rust#110338).
fn set_health(
    h: HealthReporter,
    services: &'static [&'static str],
    status: ServingStatus,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        h.set_service_status("", status).await;
        for s in services.iter().copied() {
            h.set_service_status(s, status).await;
        }
    })
}

fn migrate_until_done(
    pool: PgPool,
    schema: String,
    m: &'static Migrator,
    shutdown: CancellationToken,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let mut delay = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            match db::migrate(pool.clone(), schema.clone(), Some(m)).await {
                Ok(()) => {
                    tracing::info!(%schema, "migrations applied");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, %schema, "migrations failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {},
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    })
}

/// SERVING while the database and Redis answer; NOT_SERVING (and calls refused with
/// UNAVAILABLE) otherwise.
fn watch_readiness(
    services: &'static [&'static str],
    name: &'static str,
    db: Option<PgPool>,
    redis: redis::Client,
    health: HealthReporter,
    ready: Arc<AtomicBool>,
    shutdown: CancellationToken,
) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let mut was: Option<bool> = None;
        while !shutdown.is_cancelled() {
            let ok = dependencies_answer(db.as_ref(), &redis).await;
            if was != Some(ok) {
                ready.store(ok, Ordering::Release);
                let status = if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                set_health(health.clone(), services, status).await;
                metrics::gauge!("service_ready", "service" => name).set(if ok { 1.0 } else { 0.0 });
                tracing::info!(service = name, serving = ok, "readiness changed");
                was = Some(ok);
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(if ok { 2 } else { 0 } + 1)) => {},
            }
        }
    })
}

async fn dependencies_answer(db: Option<&PgPool>, redis: &redis::Client) -> bool {
    let db_ok = match db {
        None => true,
        Some(pool) => tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(pool),
        )
        .await
        .is_ok_and(|r| r.is_ok()),
    };
    let redis_ok = tokio::time::timeout(Duration::from_secs(2), async {
        let mut c = redis.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    })
    .await
    .is_ok_and(|r| r.is_ok());
    db_ok && redis_ok
}

/// Asks `url`'s health service whether it is SERVING.
pub async fn check_health(url: &str, service: &str) -> anyhow::Result<bool> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await?;
    Ok(reply.into_inner().status
        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
}

/// The multi-threaded runtime the service binaries (and the load generators) run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The whole `main` of a service binary. Subcommands: (none) or `serve`; `migrate` (run the
/// migrations and exit, for a Kubernetes Job); `healthcheck [url]` (exit 0 when SERVING,
/// for exec probes and `make run`).
pub fn main<F, Fut>(spec: ServiceSpec, setup: F) -> ExitCode
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = anyhow::Result<App>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match Config::load(spec.name, spec.default_port, Env::from_process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: configuration error: {e}", spec.name);
            return ExitCode::from(2);
        }
    };
    let runtime = runtime();
    let result = runtime.block_on(async move {
        match args.first().map(String::as_str) {
            None | Some("serve") => {
                let _guard = telemetry::init(&cfg);
                telemetry::start_metrics(cfg.metrics_listen);
                let listener = bind(cfg.grpc_listen).await?;
                tracing::info!(service = spec.name, addr = %cfg.grpc_listen, "listening");
                let shutdown = CancellationToken::new();
                tokio::spawn(cancel_on_signal(shutdown.clone()));
                serve(spec, cfg, listener, shutdown, setup).await
            }
            Some("migrate") => {
                let _guard = telemetry::init(&cfg);
                match spec.migrator {
                    Some(m) => {
                        db::migrate(db::pool(&cfg)?, cfg.database_schema.clone(), Some(m)).await
                    }
                    None => Ok(()),
                }
            }
            Some("healthcheck") => {
                let url = args
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| format!("http://127.0.0.1:{}", cfg.grpc_listen.port()));
                match check_health(&url, "").await {
                    Ok(true) => Ok(()),
                    Ok(false) => anyhow::bail!("{url} is not SERVING"),
                    Err(e) => anyhow::bail!("{url}: {e}"),
                }
            }
            Some(other) => {
                anyhow::bail!("unknown subcommand {other:?}; use serve, migrate or healthcheck")
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e:#}", spec.name);
            ExitCode::FAILURE
        }
    }
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let term = async {
        #[cfg(unix)]
        {
            let mut s = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
            s.recv().await;
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; draining");
    shutdown.cancel();
}

/// Aborts the task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepted connections with Nagle's algorithm off: gRPC writes many small frames, and
/// Nagle plus delayed ACKs would hold them back for tens of milliseconds.
fn incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        if let Ok(c) = &conn {
            let _ = c.set_nodelay(true);
        }
        conn
    })
}

/// Binds the service port, retrying briefly: a fixed port can be held for a moment by an
/// outgoing connection that the kernel gave it as its ephemeral source port, or by the
/// previous process of a restart still closing.
async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let mut tries = 0;
    loop {
        match TcpListener::bind(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 20 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}
