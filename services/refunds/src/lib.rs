//! Refund ledger, payouts, compensation and shipping-insurance claims (SPEC §4).

mod api;
mod convert;
pub mod domain;
mod effects;
mod payouts;
pub mod settings;
mod store;
mod timers;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `refunds` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `refunds` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "refunds",
    default_port: 50053,
    grpc_services: &[
        "aftersales.refunds.v1.RefundsService",
        "aftersales.sla.v1.TimerCallback",
    ],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
