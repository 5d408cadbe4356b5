//! Complaint tickets, investigation, arbitration, follow-up and early warning (SPEC §6).
//!
//! A tour of the files (the layout every service follows, DESIGN §2; the rest of it
//! arrives with the domain):
//!
//! - `lib.rs` (this file): the composition root. [`setup`] builds the API and says who
//!   may call what; settings, timers, consumers and background tasks are wired here too
//!   once they exist.
//! - `api/`: the ComplaintsService trait; every method answers UNIMPLEMENTED until its issue
//!   lands. Nothing else imports it.
//! - `migrations/`: the `complaints` schema.
//!
//! Still to come, each in a file of its own: `settings.rs` (environment values only),
//! `names.rs`, `parse.rs` and `render.rs`, `domain/` (pure rules), `transition.rs`,
//! `effects.rs`, `store.rs`, `timers.rs` and `consumer.rs`.

mod api;

use aftersales_proto::aftersales::complaints::v1::complaints_service_server::ComplaintsServiceServer;
use kit::{
    App, Ctx, ServiceSpec,
    auth::{Policy, Role},
};
use tonic::service::Routes;

use crate::api::Api;

/// Migrations of the `complaints` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "aftersales.complaints.v1.ComplaintsService";

/// The `complaints` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "complaints",
    default_port: 50054,
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
        routes: Routes::new(ComplaintsServiceServer::new(Api)),
        policy: policy(),
        tasks: Vec::new(),
    })
}
