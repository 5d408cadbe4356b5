//! The service kit: what every aftersales service needs, written once. A service's `main`
//! is `kit::server::main(SPEC, setup)`; its `lib.rs` exposes `serve` for in-process tests.

pub mod audit;
pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod descriptor;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod inbox;
pub mod layer;
pub mod names;
pub mod outbox;
pub mod page;
pub mod platform;
pub mod server;
pub mod sla;
pub mod telemetry;
pub mod time;
pub mod validate;

pub use error::{Error, Result, answer};
pub use server::{App, Ctx, ServiceSpec};
