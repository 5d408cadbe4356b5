//! Surveys, ratings, CSAT and merchant scorecards (SPEC §7).
//!
//! A tour of the files (the layout every service follows, DESIGN §2):
//!
//! - `lib.rs` (this file): the composition root. [`setup`] builds the API, the timer
//!   callback and the consumer of the cases' completion events from the settings.
//! - `api/`: the SatisfactionService trait (`surveys`: read, list, rate; `aggregates`:
//!   the aggregates and the alerts; `scorecard`). Nothing else imports it.
//! - `access.rs`: who may call each method (people by role, services by name).
//! - `domain/`: the pure rules: the five scores and CSAT's count, a survey's life.
//! - `parse.rs` and `render.rs`: requests checked, surveys shown; `names.rs`: names
//!   and the window's timer; `settings.rs`: environment values only.
//! - `consumer.rs`: the events learnt from (`finished.rs`: the completion events that
//!   open surveys; `tally.rs`: what the scorecard counts); `csat.rs`: the CSAT
//!   alert judged in a rating's transaction; `timers.rs`: the SLA
//!   service's expiries; `effects.rs`: what a step causes elsewhere; `store.rs`: the
//!   only file with table names.
//! - `migrations/`: the `satisfaction` schema.

mod access;
mod api;
mod consumer;
mod csat;
pub mod domain;
mod effects;
mod finished;
mod names;
mod parse;
mod render;
pub mod settings;
mod store;
mod tally;
mod timers;

use std::sync::Arc;

use aftersales_proto::aftersales::{
    satisfaction::v1::satisfaction_service_server::SatisfactionServiceServer,
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::{api::Api, settings::Settings, timers::Timers};

/// Migrations of the `satisfaction` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "aftersales.satisfaction.v1.SatisfactionService";

/// The `satisfaction` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "satisfaction",
    default_port: 50055,
    grpc_services: &[SERVICE, "aftersales.sla.v1.TimerCallback"],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service: the API, the timer callback and the consumer of the cases'
/// completion events.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let routes = Routes::new(SatisfactionServiceServer::new(Api::new(
        pool.clone(),
        settings.clone(),
    )))
    .add_service(TimerCallbackServer::new(Timers { pool: pool.clone() }));
    let consumer = consumer::Consumer { pool, settings };
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
