//! The refunds integration tests, one binary: the sandbox platform, the real SLA
//! service and refunds in-process (`harness.rs`); the ledger's invariants under races
//! (`ledger.rs`), payouts and their faults (`payouts.rs`), compensation and advances
//! (`compensation.rs`), what each party reads of a refund and its audit trail
//! (`audit.rs`), idempotency answers past their retention (`retention.rs`).

mod audit;
mod compensation;
mod harness;
mod ledger;
mod payouts;
mod retention;
