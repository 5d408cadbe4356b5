//! The sandbox's integration tests, one binary: the harness (`harness.rs`) and the
//! ports behaving like the platform's (`ports.rs`), what `ListPayouts` counts
//! (`submissions.rs`).

mod harness;
mod ports;
mod submissions;
