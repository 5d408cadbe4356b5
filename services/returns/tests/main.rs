//! The returns service's integration tests, in one binary: the whole suite a return
//! needs (sandbox, SLA, logistics, refunds, returns) in-process over real gRPC.

mod harness;

mod clocks;
mod lifecycle;
mod rules;
