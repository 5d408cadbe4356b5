//! The returns service's integration tests, in one binary: the whole suite a return
//! needs (sandbox, SLA, logistics, refunds, returns) in-process over real gRPC.

mod harness;
mod observe;

mod clocks;
mod fees;
mod lifecycle;
mod retention;
mod rules;
mod steps;
mod stuck;
