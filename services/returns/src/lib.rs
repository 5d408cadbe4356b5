//! Returns, exchanges and refund-only requests (SPEC §3).
//!
//! This file is the only composition root: it builds the API, the timer callback and
//! the event consumer over one pool and one set of settings, and says who may call
//! what. The rest, in the order a request meets it:
//!
//! - `api/`: the gRPC surface: `mod.rs` (the trait, a few lines a method), `create.rs`
//!   (filing and revising), `transitions.rs` (the parties' steps), `reads.rs`,
//!   `policy.rs` (merchants' policies).
//! - `parse.rs`: proto requests -> domain input, collecting every bad field.
//! - `render.rs`: domain -> proto.
//! - `names.rs`: `returns/{id}`, timer ids and clock keys, policy and order names.
//! - `domain/`: the rules, pure: kinds, policies, eligibility, amounts, shipping,
//!   clocks (spans and what each expiry means), lateness, the state machine.
//! - `transition.rs`: the one path every door takes: apply, store, effects, audit.
//! - `effects.rs`: what a transition causes elsewhere, as outbox rows.
//! - `store.rs`: the schema (sqlx only; named constraints -> errors).
//! - `error.rs`: the one mapping of domain and store errors to `kit::Error`.
//! - `timers.rs`: the SLA service's callback when a clock runs out (a leaf).
//! - `consumer.rs`: other services' events that move requests on (a leaf).
//! - `policy_cache.rs`: merchant policies, cached for the hot path.
//! - `settings.rs`: values from the environment.
//! - `access.rs`: who may call each method (people by role, services by name).

mod access;
mod api;
mod consumer;
pub mod domain;
mod effects;
mod error;
mod names;
mod parse;
mod policy_cache;
mod render;
pub mod settings;
mod store;
mod timers;
mod transition;

use std::sync::Arc;

use aftersales_proto::aftersales::{
    returns::v1::returns_service_server::ReturnsServiceServer,
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::{settings::Settings, timers::Timers};

/// Migrations of the `returns` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `returns` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "returns",
    default_port: 50051,
    grpc_services: &[
        "aftersales.returns.v1.ReturnsService",
        "aftersales.sla.v1.TimerCallback",
    ],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service's routes, policy and background tasks: the API, the timer
/// callback and the consumer of the logistics, refunds and complaints streams.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let api = api::Api::new(pool.clone(), ctx.peers.clone(), settings.clone());
    let timers = Timers {
        pool: pool.clone(),
        settings: settings.clone(),
    };
    let consumer = consumer::Consumer { pool, settings };
    let routes =
        Routes::new(ReturnsServiceServer::new(api)).add_service(TimerCallbackServer::new(timers));
    let task = consumer.run(
        ctx.redis.clone(),
        ctx.cfg.redis_prefix.clone(),
        ctx.shutdown.clone(),
    );
    Ok(App {
        routes,
        tasks: vec![Box::pin(task)],
    })
}
