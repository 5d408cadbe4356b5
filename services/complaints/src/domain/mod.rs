//! The complaint rules, free of transport and SQL (SPEC §6): the vocabulary, the
//! ticket, its clocks, escalation to the expert group and the state machine, whose
//! transitions return the effects they cause instead of performing them.

pub mod clocks;
pub mod days;
pub mod escalation;
#[cfg(test)]
pub(crate) mod fixture;
pub mod kinds;
pub mod machine;
pub mod number;
pub mod outcome;
pub mod stats;
pub mod ticket;
