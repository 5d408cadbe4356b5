//! The shared SLA timer service (SPEC §8): deadlines for the other services, absolute or
//! in hours or working days on a business calendar, with reminders, pause/resume, cancel
//! and reschedule; fired once to the owner's `TimerCallback` (at least once, deduplicated
//! by delivery id), durable in Postgres, scheduled in sharded Redis sorted sets, shared by
//! replicas without a coordinator.
//!
//! A tour of the files, from the door inwards:
//!
//! - `lib.rs` (here): the composition root. [`setup`] reads the settings (`settings.rs`,
//!   environment only) and builds the engine, the writer thread, the batcher and the API,
//!   the policy table and the tasks.
//! - `api/`: the gRPC methods, one file per verb family (`create.rs`, `timers.rs`,
//!   `reads.rs`, `operations.rs`); `mod.rs` holds the trait impl and maps errors once.
//! - `parse.rs` / `render.rs`: protobuf into domain values (every bad field collected) and
//!   stored rows back into protobuf.
//! - [`domain`]: the pure timer rules (due times, reminders, pauses, delivery ids, backoff).
//! - `batcher.rs`: ScheduleTimer calls grouped into one commit each, then into Redis.
//! - `writer.rs`: the thread (own runtime, own connections) the group commits run on;
//!   `pgcopy.rs` lays their rows out for `COPY ... FROM STDIN (FORMAT binary)`.
//! - `engine/`: one per replica: claims due events from Redis, fires them to the owners,
//!   records the outcomes (retries, dead letters) and keeps Redis whole from Postgres.
//! - [`schedule`]: the Redis side: sharded sorted sets and the Lua scripts on them.
//! - `store/`: Postgres, the only place with table names.
//! - `calendars.rs`: the business calendars, shared by every call and refreshed from
//!   Postgres; [`events`]: the domain events this service publishes through the outbox.
//! - `access.rs`: who may call each method (people by role, services by name).

mod access;
mod api;
mod batcher;
mod calendars;
pub mod domain;
mod engine;
pub mod events;
mod parse;
mod pgcopy;
mod render;
pub mod schedule;
mod settings;
mod store;
mod writer;

use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use aftersales_proto::aftersales::sla::v1::sla_service_server::SlaServiceServer;

use crate::{
    api::Api, batcher::Batcher, calendars::Calendars, engine::Engine, schedule::Keys,
    settings::Settings, writer::Writer,
};

/// Migrations of the `sla` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `sla` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "sla",
    default_port: 50056,
    grpc_services: &["aftersales.sla.v1.SlaService"],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service's routes and background tasks: API, engine and batcher.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Settings::from_env(ctx.cfg.env())?;
    let pool = ctx.pool();
    let calendars = Calendars::default();
    let keys = Keys::new(&ctx.cfg.redis_prefix);
    let engine = Engine::new(
        pool.clone(),
        ctx.redis.clone(),
        keys,
        ctx.peers.clone(),
        calendars.clone(),
        settings.engine,
    );
    // Committers keep a connection each while groups keep coming; at least one more is
    // left for BatchScheduleTimers calls.
    let writer = Writer::start(
        &ctx.cfg,
        settings
            .writer_connections
            .max(settings.committers as u32 + 1),
    )?;
    let (batcher, batcher_task) = Batcher::new(
        writer.clone(),
        engine.clone(),
        ctx.redis.clone(),
        settings.committers,
        ctx.shutdown.clone(),
    );
    let api = Api::new(
        pool,
        engine.clone(),
        batcher,
        writer,
        calendars,
        ctx.redis.clone(),
    );
    let shutdown = ctx.shutdown.clone();
    Ok(App {
        routes: Routes::new(SlaServiceServer::new(api)),
        tasks: vec![Box::pin(engine.run(shutdown)), Box::pin(batcher_task)],
    })
}
