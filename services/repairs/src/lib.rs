//! Repair orders: warranty check, diagnosis, quote, progress, acceptance (SPEC §5).

mod api;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `repairs` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `repairs` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "repairs",
    default_port: 50052,
    grpc_services: &["aftersales.repairs.v1.RepairsService"],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
