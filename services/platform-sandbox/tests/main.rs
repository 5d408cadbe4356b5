//! The sandbox's integration tests, one binary: the harness (`harness.rs`) and the
//! ports behaving like the platform's (`ports.rs`).

mod harness;
mod ports;
