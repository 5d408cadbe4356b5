//! Complaint tickets, investigation, arbitration, follow-up and early warning (SPEC §6).

mod api;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `complaints` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `complaints` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "complaints",
    default_port: 50054,
    grpc_services: &["aftersales.complaints.v1.ComplaintsService"],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
