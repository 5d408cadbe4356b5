//! Postgres: a pool bound to the service's own schema (via `search_path`, so the same
//! migrations serve `returns` in production and `returns_t42` in a test), the kit's own
//! tables (outbox, inbox, idempotency), the service's `sqlx` migrations, and the one way a
//! named constraint's violation becomes a domain error ([`ResultExt::on_constraint`]).

use std::time::Duration;

use sqlx::{
    Connection, Executor, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::Config;

/// A pooled connection idle for at least this long is pinged before it is handed out.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A lazily connecting pool: the server can answer health (NOT_SERVING) before the
/// database is reachable.
///
/// sqlx pings every connection before every use by default: a round trip more per query
/// (on the SLA service's group commit, half of the service's own CPU spent on the
/// database, by perf). sqlx still checks a connection when it is released, so one that
/// was in use a moment ago is known to be alive: only one idle for [`PING_AFTER_IDLE`] is
/// pinged (HikariCP's bypass window, in effect), and one found dead is closed and the next
/// one tried. A connection that dies within that second fails the query it is given.
pub fn pool(cfg: &Config) -> anyhow::Result<PgPool> {
    let url = cfg.require_database_url()?;
    let options: PgConnectOptions = url.parse()?;
    let options = options
        .options([("search_path", cfg.database_schema.as_str())])
        .application_name(&cfg.service);
    Ok(PgPoolOptions::new()
        .max_connections(cfg.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// The advisory-lock key that serialises migrations of one schema across replicas.
pub fn migration_lock_key(schema: &str) -> String {
    format!("aftersales-migrate:{schema}")
}

/// The kit's tables, created in every service schema (the idempotency table's own DDL is
/// `idempotency::DDL`, beside the code that reads it). Idempotent DDL (not a numbered
/// migration) so that the kit can add a column without renumbering every service's files.
const KIT_DDL: &str = r#"
CREATE TABLE IF NOT EXISTS outbox (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CONSTRAINT outbox_kind_valid CHECK (kind IN ('event', 'command')),
    -- event: the stream topic; command: the target service (its <NAME>_URL)
    topic         text NOT NULL,
    -- command: the full gRPC method path
    method        text,
    -- event id, or the command's idempotency key: deliveries are deduplicated on it
    key           text NOT NULL CONSTRAINT outbox_key_unique UNIQUE,
    payload       bytea NOT NULL,
    traceparent   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- also the claim lease: a claimed row becomes available again if its claimer dies
    available_at  timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    delivered_at  timestamptz,
    dead_at       timestamptz
);
-- The dispatcher claims the oldest undelivered rows in id order. Delivered rows stay for
-- the retention (7 days by default); without a partial index in id order the claim walked
-- the primary key past every one of them on each pass.
CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
DROP INDEX IF EXISTS outbox_pending;
-- Room on each page for the claim's new row version: the claim changes no indexed column,
-- so with room it is a HOT update and adds no index entries. Set once, not at every start
-- (it takes a lock and rewrites the table's catalog row).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = 'outbox'::regclass
                   AND reloptions @> ARRAY['fillfactor=50']) THEN
        ALTER TABLE outbox SET (fillfactor = 50);
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_outbox', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

CREATE TABLE IF NOT EXISTS inbox (
    id           text PRIMARY KEY,
    source       text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
"#;

/// Creates the schema, the kit tables and runs the service's migrations, serialised by an
/// advisory lock so that several replicas starting at once do not race.
///
/// Owned arguments and a boxed `dyn Send` future, so that generic callers such as
/// `kit::server::serve` stay provably Send (rust-lang/rust#110338).
pub fn migrate(
    pool: PgPool,
    schema: String,
    migrator: Option<&'static Migrator>,
) -> futures::future::BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async move { migrate_inner(&pool, &schema, migrator).await })
}

async fn migrate_inner(
    pool: &PgPool,
    schema: &str,
    migrator: Option<&'static Migrator>,
) -> anyhow::Result<()> {
    // The lock is transaction-scoped: released by commit, rollback or a dropped connection.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(migration_lock_key(schema))
        .execute(&mut *tx)
        .await?;
    let create_schema = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    // Executor::execute (a boxed future) rather than raw_sql(..).execute(..), whose
    // generic async fn trips rust-lang/rust#110338 inside Send futures.
    (&mut *tx).execute(create_schema.as_str()).await?;
    (&mut *tx).execute(KIT_DDL).await?;
    (&mut *tx).execute(crate::idempotency::DDL).await?;
    tx.commit().await?;
    if let Some(m) = migrator {
        // sqlx serialises concurrent runs with its own advisory lock. `run_direct` rather
        // than `run`: the latter trips rust-lang/rust#110338 in Send futures.
        let mut conn = pool.acquire().await?;
        m.run_direct(&mut *conn).await?;
    }
    Ok(())
}

/// The name of the constraint `e` violates, if it is a constraint violation.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Named-constraint mapping at the query that can violate it (DESIGN §7, as
/// realworld-axum-sqlx's `ResultExt`): the database enforces the rule under concurrency,
/// and its refusal becomes the domain's error where the query is called; everything else
/// stays a plain `sqlx::Error` for `?`.
pub trait ResultExt<T> {
    /// A violation of constraint `name` becomes `err()`; any other error passes through.
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        name: &str,
        err: impl FnOnce() -> E,
    ) -> Result<T, E>;

    /// A violation of a constraint `classify` knows (by name) becomes its error; any other
    /// error passes through.
    fn on_constraints<E: From<sqlx::Error>>(
        self,
        classify: impl FnOnce(&str) -> Option<E>,
    ) -> Result<T, E>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint<E: From<sqlx::Error>>(
        self,
        name: &str,
        err: impl FnOnce() -> E,
    ) -> Result<T, E> {
        self.on_constraints(|c| (c == name).then(err))
    }

    fn on_constraints<E: From<sqlx::Error>>(
        self,
        classify: impl FnOnce(&str) -> Option<E>,
    ) -> Result<T, E> {
        self.map_err(|e| match violated_constraint(&e).and_then(classify) {
            Some(mapped) => mapped,
            None => E::from(e),
        })
    }
}
