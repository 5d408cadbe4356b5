//! The kit's integration tests, one binary (one link): the edge of a demo service (auth,
//! health, errors, tracing), gRPC conformance (reflection, unknown methods),
//! the outbox relay, the pool, named-constraint mapping.

mod conformance;
mod constraints;
mod demo;
mod edge;
mod outbox_relay;
mod pool;
