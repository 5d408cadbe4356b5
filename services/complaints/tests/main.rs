//! The complaints service's integration tests, in one binary: the whole suite a
//! complaint meets (sandbox, SLA, logistics, refunds, returns, complaints) in-process
//! over real gRPC.

mod harness;

mod advance;
mod clocks;
mod disputes;
mod escalation;
mod input;
mod lifecycle;
mod ownership;
mod reship;
mod warnings;
