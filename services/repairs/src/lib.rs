//! Repair orders: warranty check, diagnosis, quote, progress, acceptance (SPEC §5).
//!
//! A tour of the files (the layout every service follows, DESIGN §2; the rest of it
//! arrives with the domain):
//!
//! - `lib.rs` (this file): the composition root. [`setup`] builds the API and says who
//!   may call what; settings, timers, consumers and background tasks are wired here too
//!   once they exist.
//! - `api/`: the RepairsService trait; every method answers UNIMPLEMENTED until its issue
//!   lands. Nothing else imports it.
//! - `migrations/`: the `repairs` schema.
//!
//! Still to come, each in a file of its own: `settings.rs` (environment values only),
//! `names.rs`, `parse.rs` and `render.rs`, `domain/` (pure rules), `transition.rs`,
//! `effects.rs`, `store.rs`, `timers.rs` and `consumer.rs`.

mod api;

use aftersales_proto::aftersales::repairs::v1::repairs_service_server::RepairsServiceServer;
use kit::{
    App, Ctx, ServiceSpec,
    auth::{Policy, Role},
};
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
};

/// Who may call what: every authenticated role, while every method is UNIMPLEMENTED.
fn policy() -> Policy {
    Policy::new().allow_service(SERVICE, Role::ALL)
}

/// Builds the service's routes and policy (no background tasks yet).
pub async fn setup(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(RepairsServiceServer::new(Api)),
        policy: policy(),
        tasks: Vec::new(),
    })
}
