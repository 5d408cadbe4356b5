//! The kit's integration tests, one binary (one link): the edge of a demo service (auth,
//! health, errors, tracing), gRPC conformance (reflection, unknown methods),
//! the outbox relay, the pool, named-constraint mapping, the idempotency retention.

mod conformance;
mod constraints;
mod demo;
mod edge;
mod idempotency;
mod outbox_relay;
mod pool;
