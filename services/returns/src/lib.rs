//! Returns, exchanges and refund-only requests (SPEC §3).

mod api;
mod convert;
pub mod domain;
mod effects;
mod events;
mod flow;
mod policies;
pub mod settings;
mod store;
mod timers;

use kit::{App, Ctx, ServiceSpec};

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
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
