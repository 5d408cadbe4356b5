//! The satisfaction service's integration tests, in one binary: the service with the
//! platform sandbox (its Notifier) and the SLA service (a survey's window), in-process
//! over real gRPC; the cases' completion events arrive on their real Redis streams.

mod harness;

mod aggregates;
mod alerts;
mod scorecard;
mod surveys;
