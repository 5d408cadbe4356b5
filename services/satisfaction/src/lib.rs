//! Surveys, ratings, CSAT and merchant scorecards (SPEC §7).

mod api;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `satisfaction` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `satisfaction` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "satisfaction",
    default_port: 50055,
    grpc_services: &["aftersales.satisfaction.v1.SatisfactionService"],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
