//! The one test harness (DESIGN §6): every integration test starts the real service
//! in-process on `127.0.0.1:0`, with a fresh Postgres schema and a unique Redis key prefix,
//! talks to it over real gRPC with minted tokens, and waits with [`eventually`], never sleeps.
//! [`platform`] drives the sandbox's control surface and a carrier's reports.

use std::{future::Future, net::SocketAddr, time::Duration};

use kit::{
    App, Ctx, ServiceSpec,
    auth::{Role, Tokens},
    config::{Config, Env},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

pub mod platform;
mod streams;

pub use streams::{announce, envelope, published};

/// The secret every test token is signed with.
pub const JWT_SECRET: &str = "testkit-secret-0123456789abcdef";

/// Postgres URL for tests: `DATABASE_URL` (set by `make test`) or the local default.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Redis URL for tests: `REDIS_URL` or the local default.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Test logs print only when `TEST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .with_test_writer()
            .try_init();
    }
}

/// One test's isolated world: unique schema suffix and Redis prefix, shared token keys.
#[derive(Clone, Debug)]
pub struct World {
    /// Unique id of this test world.
    pub id: String,
    /// Token keys matching what the services verify.
    pub tokens: Tokens,
    /// Extra environment given to every service started in this world.
    pub env: Vec<(String, String)>,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A fresh world.
    pub fn new() -> Self {
        init_logs();
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        Self {
            id,
            tokens: Tokens::new(JWT_SECRET, "aftersales"),
            env: Vec::new(),
        }
    }

    /// The schema this world gives `service`.
    pub fn schema(&self, service: &str) -> String {
        format!("{}_t{}", service.replace('-', "_"), self.id)
    }

    /// The Redis key prefix of this world.
    pub fn redis_prefix(&self) -> String {
        format!("t{}:", self.id)
    }

    /// Adds an environment variable for every service started afterwards.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.env.push((name.to_string(), value.into()));
    }

    /// The configuration `service` gets in this world.
    pub fn config(&self, spec: &ServiceSpec) -> Config {
        let mut env = Env::from_pairs([
            ("DATABASE_URL", database_url()),
            ("DATABASE_SCHEMA", self.schema(spec.name)),
            ("DATABASE_MAX_CONNECTIONS", "8".to_string()),
            ("REDIS_URL", redis_url()),
            ("REDIS_KEY_PREFIX", self.redis_prefix()),
            ("AUTH_JWT_SECRET", JWT_SECRET.to_string()),
            ("GRPC_LISTEN", "127.0.0.1:0".to_string()),
            ("METRICS_LISTEN", "127.0.0.1:0".to_string()),
            ("OUTBOX_POLL", "200ms".to_string()),
            // logistics' carrier webhook: any free port unless a test chooses one
            ("LOGISTICS_WEBHOOK_LISTEN", "127.0.0.1:0".to_string()),
            ("LOG_FORMAT", "pretty".to_string()),
        ]);
        for (k, v) in &self.env {
            env = env.with(k, v.clone());
        }
        Config::load(spec.name, spec.default_port, env).expect("test config is valid")
    }

    /// A pool on `spec`'s schema in this world, with the kit's tables and `spec`'s
    /// migrations in place, for tests of the database layer without a running service.
    pub async fn migrated_pool(&self, spec: &ServiceSpec) -> sqlx::PgPool {
        let cfg = self.config(spec);
        let pool = kit::db::pool(&cfg).expect("test pool");
        kit::db::migrate(pool.clone(), cfg.database_schema.clone(), spec.migrator)
            .await
            .expect("test migrations");
        pool
    }

    /// Starts `spec` in-process on 127.0.0.1:0 with `setup`.
    pub async fn start<F, Fut>(&self, spec: ServiceSpec, setup: F) -> Running
    where
        F: FnOnce(Ctx) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
    {
        self.start_with(spec, self.config(&spec), setup).await
    }

    /// Starts `spec` with an explicit configuration.
    pub async fn start_with<F, Fut>(&self, spec: ServiceSpec, cfg: Config, setup: F) -> Running
    where
        F: FnOnce(Ctx) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        self.start_on(listener, spec, cfg, setup)
    }

    /// Starts `spec` on a listener the test bound itself (e.g. a port chosen before the
    /// service existed, to test callers that tried it while it was down).
    pub fn start_on<F, Fut>(
        &self,
        listener: TcpListener,
        spec: ServiceSpec,
        cfg: Config,
        setup: F,
    ) -> Running
    where
        F: FnOnce(Ctx) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
    {
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(kit::server::serve(
            spec,
            cfg,
            listener,
            shutdown.clone(),
            setup,
        ));
        Running {
            addr,
            shutdown,
            handle,
        }
    }

    /// One number from `service`'s schema in this world: `{s}` in `sql` stands for the
    /// schema, e.g. `SELECT count(*) FROM {s}.refunds`.
    pub async fn scalar(&self, service: &str, sql: &str) -> i64 {
        let sql = sql.replace("{s}", &self.schema(service));
        sqlx::query_scalar(&sql)
            .fetch_one(&pool().await)
            .await
            .expect("a query returning one int8")
    }

    /// `SELECT` of two text columns on `service`'s schema (`{s}` is replaced by it).
    pub async fn pairs(&self, service: &str, sql: &str) -> Vec<(String, String)> {
        let sql = sql.replace("{s}", &self.schema(service));
        sqlx::query_as(&sql)
            .fetch_all(&pool().await)
            .await
            .expect("a query returning two text columns")
    }

    /// A bearer token for `role` / `sub`.
    pub fn token(&self, role: Role, sub: &str) -> String {
        self.tokens.mint(role, sub, None, 3600)
    }

    /// A staff token for `sub` in `groups` (e.g. the complaints expert group).
    pub fn token_in_groups(&self, role: Role, sub: &str, groups: &[&str]) -> String {
        self.tokens.mint_in_groups(role, sub, None, groups, 3600)
    }

    /// A partner token for `carrier`.
    pub fn partner_token(&self, sub: &str, carrier: &str) -> String {
        self.tokens.mint(Role::Partner, sub, Some(carrier), 3600)
    }
}

/// Starts one service of a [`World::start_peers`] call on the listener reserved for it.
type Starter = Box<dyn FnOnce(&World, TcpListener) -> Running + Send>;

/// A service for [`World::start_peers`]: the peer name others reach it by (`<NAME>_URL`:
/// `sla`, `refunds`, `platform` for the sandbox), its spec and its setup.
pub struct Peer {
    name: String,
    start: Starter,
}

/// A [`Peer`] reached as `name`, started with `spec` and `setup`.
pub fn peer<F, Fut>(name: &str, spec: ServiceSpec, setup: F) -> Peer
where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
{
    Peer {
        name: name.to_string(),
        start: Box::new(move |world, listener| {
            world.start_on(listener, spec, world.config(&spec), setup)
        }),
    }
}

impl World {
    /// Starts `peers` in-process and waits until every one serves. Each gets its listener
    /// and its `<NAME>_URL` in this world before any starts, so services that call each
    /// other (returns and refunds) find each other whatever the order; env set earlier
    /// with [`World::set`] applies to all of them.
    pub async fn start_peers<const N: usize>(&mut self, peers: [Peer; N]) -> [Running; N] {
        let mut listeners = Vec::with_capacity(N);
        for p in &peers {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let var = format!("{}_URL", p.name.to_ascii_uppercase().replace('-', "_"));
            self.set(&var, format!("http://{}", l.local_addr().expect("addr")));
            listeners.push(l);
        }
        let running: Vec<Running> = peers
            .into_iter()
            .zip(listeners)
            .map(|(p, l)| (p.start)(&*self, l))
            .collect();
        for r in &running {
            r.wait_serving().await;
        }
        running
            .try_into()
            .unwrap_or_else(|_| unreachable!("one per peer"))
    }
}

/// A service running in-process.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Cancel to stop it.
    pub shutdown: CancellationToken,
    /// Its serve task.
    pub handle: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A lazily connected channel to it.
    pub fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .expect("url")
            .connect_lazy()
    }

    /// Waits until health reports SERVING (deadline 20 s). A service that ended first (its
    /// setup failed) fails at once rather than after the deadline.
    pub async fn wait_serving(&self) {
        let url = self.url();
        let end = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                !self.handle.is_finished(),
                "{url} ended before serving: its setup failed (see its log)"
            );
            if kit::server::check_health(&url, "").await.unwrap_or(false) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "{url} not serving within 20s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Graceful stop, waiting for the serve task.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.handle).await;
    }
}

/// A free port on 127.0.0.1 for a service that a test starts later on a known address (a
/// child process, a restart on the same port). It lies below the kernel's ephemeral range:
/// a port taken with `127.0.0.1:0` and let go could be handed meanwhile to any outgoing
/// connection as its source port (a pooled Postgres connection keeps it), and the
/// service's bind would then fail for good; below that range only an explicit bind takes
/// a port.
pub fn reserve_port() -> u16 {
    const FROM: u16 = 10_000;
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_from > FROM + 1_000 {
        let span = u128::from(ephemeral_from - FROM);
        for _ in 0..200 {
            let port = FROM + (uuid::Uuid::new_v4().as_u128() % span) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    // No room below the range (an unusual kernel setting): any free port.
    let any = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    any.local_addr().expect("its address").port()
}

/// Polls `check` until it returns true, panicking after `deadline`.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The fields an INVALID_ARGUMENT status names in its BadRequest details, sorted (empty
/// when it has none).
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    let mut fields: Vec<String> = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

/// Wraps a message in a request carrying `token`.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    req
}

/// Calls `path` at `url` with an empty message, as a client that knows only the path (a
/// contract's method, or none at all), with `token` if given.
pub async fn raw_call(
    url: &str,
    path: &str,
    token: Option<&str>,
) -> Result<tonic::codegen::Bytes, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut req = tonic::Request::new(tonic::codegen::Bytes::new());
    if let Some(t) = token {
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii token"),
        );
    }
    let path = path.parse().expect("a path");
    grpc.unary(req, path, kit::client::RawCodec)
        .await
        .map(|r| r.into_inner())
}

/// A plain pool on the test database (for assertions and fault injection).
pub async fn pool() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&database_url())
        .await
        .expect("test database reachable")
}

/// A Redis connection for assertions and fault injection.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis reachable")
}

impl Running {
    /// Kills the service abruptly, as a crashed process: no graceful shutdown, background
    /// tasks aborted mid-step, leases and in-flight work left behind.
    pub fn kill(self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::reserve_port;

    #[test]
    fn a_reserved_port_is_free_and_no_outgoing_connection_can_be_given_it() {
        let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
        let ephemeral_from: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
        for _ in 0..20 {
            let port = reserve_port();
            // (With the range starting at 11,000 or below, any free port is the answer.)
            if ephemeral_from > 11_000 {
                assert!((10_000..ephemeral_from).contains(&port), "{port}");
            }
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("still free");
        }
    }
}
