//! The shared SLA timer service: deadlines, reminders, pauses, business calendars (SPEC §8).

mod api;

use kit::{App, Ctx, ServiceSpec};

/// Migrations of the `sla` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The `sla` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "sla",
    default_port: 50056,
    grpc_services: &["aftersales.sla.v1.SlaService"],
    migrator: Some(&MIGRATOR),
};

/// Builds the service's routes, policy and background tasks.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    api::app(ctx)
}
