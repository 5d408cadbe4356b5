//! The returns rules, free of transport and SQL (SPEC §3): kinds, reasons and states;
//! merchant policies and their legal floors; eligibility from order facts; the state
//! machine, whose transitions return the effects they cause instead of performing them.

pub mod amounts;
pub mod case;
pub mod clocks;
pub mod eligibility;
#[cfg(test)]
pub(crate) mod fixture;
pub mod kinds;
pub mod lateness;
pub mod machine;
pub mod platform_policy;
pub mod policy;
pub mod shipping;
pub mod voucher;
