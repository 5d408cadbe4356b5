//! The logistics integration tests, one binary: the sandbox and logistics in-process
//! with a carrier webhook on a known port (`harness.rs`); the gRPC side (`grpc.rs`) and
//! the signed webhook (`webhook.rs`), who reads which shipment, the audit trail and what
//! events carry (`parties.rs`), idempotency answers past their retention (`retention.rs`).

mod grpc;
mod harness;
mod parties;
mod retention;
mod webhook;
