//! Refund ledger, payouts, compensation and shipping-insurance claims (SPEC §4).
//!
//! A tour of the files, in the order a refund meets them:
//!
//! - `lib.rs` (this file): the composition root. [`setup`] reads the [`settings`],
//!   builds the API, the timer callback and the payout worker.
//! - `access.rs`: who may call each method (people by role, services by name).
//! - `api/`: the RefundsService methods, split by verb family (`create.rs`, `ledger.rs`
//!   for the staff changes of one refund, `reads.rs`); each parses its request with
//!   `parse.rs` and answers with `render.rs`.
//! - `domain/`: the rules, free of proto and SQL: the refund's kinds, states and manual
//!   transitions (`refund.rs`), what a payout outcome does (`payout.rs`), the settlement
//!   clock (`clocks.rs`). Money and the late penalty are the shared `rules` crate.
//! - `store.rs`: the only file with table names; the ledger's named constraints become
//!   `WriteError`s, which `errors.rs` maps to the caller's errors (the one mapping).
//! - `effects.rs`: what a change causes elsewhere (events, the settlement clock on the SLA
//!   service, notifications), as outbox rows in the change's own transaction.
//! - `payouts.rs`: the worker that pays refunds through the PaymentGateway, exactly once.
//! - `timers.rs`: the SLA service's callback when a settlement clock runs out.
//! - `names.rs`: `refunds/{uuid}`, parsed the same way by every door.
//! - `failpoint.rs`: the crash hook of the recovery test, in test builds only (feature
//!   `failpoints`).
//!
//! Nothing imports `api`: the timer callback and the worker go to the store and the
//! effects directly.

mod access;
mod api;
pub mod domain;
mod effects;
mod errors;
#[cfg(feature = "failpoints")]
mod failpoint;
mod names;
mod parse;
mod payouts;
mod render;
pub mod settings;
mod store;
mod timers;

use std::sync::Arc;

use aftersales_proto::aftersales::{
    refunds::v1::refunds_service_server::RefundsServiceServer,
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{App, Ctx, ServiceSpec};
use tokio::sync::Notify;
use tonic::service::Routes;

use crate::{api::Api, payouts::Worker, settings::Settings, timers::Timers};

/// Migrations of the `refunds` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "aftersales.refunds.v1.RefundsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";

/// The `refunds` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "refunds",
    default_port: 50053,
    grpc_services: &[SERVICE, CALLBACK],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service: the API, the timer callback and the payout worker. The kit purges
/// idempotency answers past their retention (they hold payment references).
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    // the API wakes the worker when a refund becomes due now
    let wake = Arc::new(Notify::new());
    let api = Api::new(
        pool.clone(),
        ctx.peers.clone(),
        settings.clone(),
        wake.clone(),
    );
    let worker = Worker::new(pool.clone(), ctx.peers.clone(), settings, wake);
    let timers = Timers { pool };
    let routes =
        Routes::new(RefundsServiceServer::new(api)).add_service(TimerCallbackServer::new(timers));
    Ok(App {
        routes,
        tasks: vec![Box::pin(worker.run(ctx.shutdown.clone()))],
    })
}
