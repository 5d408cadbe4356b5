//! The shared SLA timer service (SPEC §8): deadlines for the other services, absolute or
//! in hours or working days on a business calendar, with reminders, pause/resume, cancel
//! and reschedule; fired once to the owner's `TimerCallback` (at least once, deduplicated
//! by delivery id), durable in Postgres, scheduled in sharded Redis sorted sets, shared by
//! replicas without a coordinator.

mod api;
mod batcher;
mod calendars;
mod convert;
pub mod domain;
mod engine;
pub mod events;
mod pgcopy;
pub mod schedule;
mod store;
mod writer;

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
