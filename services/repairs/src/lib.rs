//! Repair orders: warranty check, diagnosis, quote, progress, acceptance (SPEC §5).
//!
//! A tour of the files (the layout every service follows, DESIGN §2; the rest of it
//! arrives with the domain):
//!
//! - `lib.rs` (this file): the composition root. [`setup`] builds the API; settings,
//!   timers, consumers and background tasks are wired here too once they exist.
//! - `api/`: the RepairsService trait; every method answers UNIMPLEMENTED until its issue
//!   lands. Nothing else imports it.
//! - `access.rs`: who may call each method (people by role, services by name).
//! - `domain/`: the pure rules (warranty, quote, clocks, extension, late penalty).
//! - `migrations/`: the `repairs` schema.
//!
//! Still to come, each in a file of its own: `settings.rs` (environment values only),
//! `names.rs`, `parse.rs` and `render.rs`, the state machine in `domain/`, `transition.rs`,
//! `effects.rs`, `store.rs`, `timers.rs` and `consumer.rs`.

mod access;
mod api;
pub mod domain;

use aftersales_proto::aftersales::repairs::v1::repairs_service_server::RepairsServiceServer;
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::api::Api;

/// Migrations of the `repairs` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "aftersales.repairs.v1.RepairsService";

/// The `repairs` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "repairs",
    default_port: 50052,
    grpc_services: &[SERVICE],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service's routes (no background tasks yet).
pub async fn setup(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(RepairsServiceServer::new(Api)),
        tasks: Vec::new(),
    })
}
