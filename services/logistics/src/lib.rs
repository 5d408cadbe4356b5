//! Carrier callbacks, shipment timelines, pickup booking (SPEC §1-2, issue 7).
//!
//! A tour of the files, in the order a parcel meets them:
//!
//! - `lib.rs` (this file): the composition root. [`setup`] reads the [`settings`], binds
//!   the carrier webhook and builds the API.
//! - `access.rs`: who may call each method (people by role, services by name).
//! - `api/`: the LogisticsService methods, split by verb family (`create.rs` registers
//!   shipments and books pickups, `events.rs` takes carrier events, `reads.rs`); each
//!   parses its request with `parse.rs` and answers with `render.rs`.
//! - `webhook.rs`: the signed JSON door for carriers (axum on its own port), the twin of
//!   ReportCarrierEvent.
//! - `ingest.rs`: a carrier event from either door stored once and applied to its
//!   shipments, with the events it causes, in one transaction.
//! - `domain/`: the rules, free of proto and SQL: how events move a shipment and when a
//!   delivery is late (`status.rs`), partners (`partners.rs`), webhook signatures
//!   (`signature.rs`).
//! - `store.rs`: the only file with table names.
//! - `names.rs`: `shipments/{uuid}`.
//!
//! Nothing imports `api`: the webhook goes to `parse` and `ingest` directly.

mod access;
mod api;
pub mod domain;
mod ingest;
mod names;
mod parse;
mod render;
pub mod settings;
mod store;
mod webhook;

use std::sync::Arc;

use aftersales_proto::aftersales::logistics::v1::logistics_service_server::LogisticsServiceServer;
use kit::{App, Ctx, ServiceSpec};
use tonic::service::Routes;

use crate::{api::Api, settings::Settings};

pub use domain::signature::sign;

/// Migrations of the `logistics` schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const SERVICE: &str = "aftersales.logistics.v1.LogisticsService";

/// The `logistics` service.
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "logistics",
    default_port: 50057,
    grpc_services: &[SERVICE],
    migrator: Some(&MIGRATOR),
    access: access::ACCESS,
};

/// Builds the service: the gRPC API and the webhook server (bound here, so a taken port
/// fails the start). The kit purges idempotency answers past their retention.
pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let hook = webhook::bind(&settings.webhook_listen).await?;
    let api = Api::new(pool.clone(), ctx.peers.clone(), settings.clone());
    Ok(App {
        routes: Routes::new(LogisticsServiceServer::new(api)),
        tasks: vec![Box::pin(webhook::serve(
            hook,
            pool.clone(),
            settings,
            ctx.shutdown.clone(),
        ))],
    })
}
