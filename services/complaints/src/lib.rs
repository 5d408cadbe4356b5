//! Complaint tickets: intake from every channel, first-contact ownership, investigation,
//! proposal and arbitration, remedies tracked to the end, on the SLA clocks (SPEC §6).
//!
//! This file is the only composition root: it builds the API, the timer callback and
//! the event consumer over one pool and one set of settings. The rest, in the order a
//! ticket meets it:
//!
//! - `api/`: the gRPC surface: `mod.rs` (the trait, a line a method), `create.rs`,
//!   `steps.rs` (the parties' steps), `reads.rs`.
//! - `parse.rs`: proto requests -> domain input, collecting every bad field.
//! - `render.rs`: domain -> proto (a merchant's view has no complainant contact).
//! - `names.rs`: `complaints/{id}`, timer ids and clock keys, the desk's queue.
//! - `domain/`: the rules, pure: kinds, the ticket, clocks, escalation, ticket numbers,
//!   the state machine.
//! - `intake.rs`: opening a ticket (a call or a dispute from returns); `records.rs`:
//!   the platform's transaction and logistics records attached to it.
//! - `transition.rs`: the one path every step takes: apply, store, effects, audit.
//! - `effects.rs`: what a transition causes elsewhere, as outbox rows.
//! - `store.rs`: the schema (sqlx only).
//! - `error.rs`: the one mapping of domain and store errors to `kit::Error`.
//! - `timers.rs`: the SLA service's callback (a leaf).
//! - `consumer.rs`: returns' disputes and refunds' settlements (a leaf).
//! - `warnings.rs`: early warning, a consumer of the service's own intake (a leaf).
//! - `settings.rs`: values from the environment.
//! - `access.rs`: who may call each method (people by role, services by name).

mod access;
mod api;
mod consumer;
pub mod domain;
mod effects;
mod error;
mod intake;
mod names;
mod parse;
mod records;
mod render;
pub mod settings;
mod store;
mod timers;
mod transition;
mod warnings;

use std::sync::Arc;

use aftersales_proto::aftersales::{
    complaints::v1::complaints_service_server::ComplaintsServiceServer,
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::{settings::Settings, timers::Timers};

/// Migrations of the `complaints` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `complaints` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "complaints",
    default_port: 50054,
    grpc_services: &[
        "aftersales.complaints.v1.ComplaintsService",
        "aftersales.sla.v1.TimerCallback",
    ],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service: the API, the timer callback, the consumer of the returns and
/// refunds streams and the early-warning consumer of its own.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let api = api::Api::new(pool.clone(), ctx.peers.clone(), settings.clone());
    let timers = Timers {
        pool: pool.clone(),
        settings: settings.clone(),
    };
    let warnings = warnings::Warnings { pool: pool.clone() };
    let consumer = consumer::Consumer {
        pool,
        peers: ctx.peers.clone(),
        settings,
    };
    let routes = Routes::new(ComplaintsServiceServer::new(api))
        .add_service(TimerCallbackServer::new(timers));
    let task = consumer.run(
        ctx.redis.clone(),
        ctx.cfg.redis_prefix.clone(),
        ctx.shutdown.clone(),
    );
    let surge = warnings.run(
        ctx.redis.clone(),
        ctx.cfg.redis_prefix.clone(),
        ctx.shutdown.clone(),
    );
    Ok(App {
        routes,
        tasks: vec![Box::pin(task), Box::pin(surge)],
    })
}
