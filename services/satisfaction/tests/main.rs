//! The satisfaction integration tests, one binary: the harness (`harness.rs`) and what the
//! stub answers (`stub.rs`). The domain's tests join as `lifecycle.rs`, `rules.rs`,
//! `races.rs` and `faults.rs`.

mod harness;
mod stub;
