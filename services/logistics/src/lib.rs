//! Carrier callbacks, shipment timelines, pickup booking (SPEC §1-2, issue 7).

mod api;
mod convert;
pub mod domain;
mod ingest;
pub mod settings;
mod store;
mod webhook;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `logistics` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `logistics` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "logistics",
    default_port: 50057,
    grpc_services: &["aftersales.logistics.v1.LogisticsService"],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks (the webhook server).
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx).await
}

pub use domain::signature::sign;
