//! The repairs service's integration tests, in one binary: the suite a repair meets
//! (sandbox, SLA, returns for the merchant's policy, repairs) in-process over real gRPC.

mod harness;

mod clocks;
mod filing;
mod flow;
mod lapses;
mod paid;
