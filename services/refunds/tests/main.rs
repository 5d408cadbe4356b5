//! The refunds integration tests, one binary: the sandbox platform, the real SLA
//! service and refunds in-process (`harness.rs`); the ledger's invariants under races
//! (`ledger.rs`), payouts and their faults (`payouts.rs`), compensation and advances
//! (`compensation.rs`).

mod compensation;
mod harness;
mod ledger;
mod payouts;
