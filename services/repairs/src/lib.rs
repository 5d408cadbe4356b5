//! Repair orders: warranty check, diagnosis, quote, progress, acceptance (SPEC §5).
//!
//! A tour of the files (the layout every service follows, DESIGN §2):
//!
//! - `lib.rs` (this file): the composition root. [`setup`] builds the API and the timer
//!   callback from the settings.
//! - `api/`: the RepairsService trait, split by verb family (`create`, `steps`,
//!   `work`, `reads`). Nothing else imports it.
//! - `access.rs`: who may call each method (people by role, services by name).
//! - `domain/`: the pure rules: warranty, quote, clocks, extension and late penalty,
//!   the state machine.
//! - `parse.rs` and `render.rs`: requests checked, repairs shown; `names.rs`: names,
//!   numbers, timer ids; `settings.rs`: environment values only.
//! - `transition.rs`: one transition with its audit and outbox rows; `effects.rs`: what
//!   a transition causes elsewhere; `store.rs`: the only file with table names.
//! - `timers.rs`: the SLA service's expiries; `consumer.rs`: logistics' deliveries of
//!   the item's legs; `charges.rs`: a paid repair's charge through the payment gateway.
//! - `migrations/`: the `repairs` schema.

mod access;
mod api;
mod charges;
mod consumer;
pub mod domain;
mod effects;
mod error;
mod names;
mod parse;
mod render;
pub mod settings;
mod store;
mod timers;
mod transition;

use std::sync::Arc;

use aftersales_proto::aftersales::{
    repairs::v1::repairs_service_server::RepairsServiceServer,
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::{settings::Settings, timers::Timers};

/// Migrations of the `repairs` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `repairs` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "repairs",
    default_port: 50052,
    grpc_services: &[
        "aftersales.repairs.v1.RepairsService",
        "aftersales.sla.v1.TimerCallback",
    ],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service: the API, the timer callback and the consumer of logistics'
/// deliveries.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let api = api::Api::new(pool.clone(), ctx.peers.clone(), settings.clone());
    let timers = Timers {
        pool: pool.clone(),
        peers: ctx.peers.clone(),
        settings: settings.clone(),
    };
    let consumer = consumer::Consumer { pool, settings };
    let routes =
        Routes::new(RepairsServiceServer::new(api)).add_service(TimerCallbackServer::new(timers));
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
