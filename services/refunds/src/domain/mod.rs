//! The refund rules, free of transport and SQL: money, the late-penalty formula, the
//! refund state machine and what a payout outcome does to it.

pub mod money;
pub mod payout;
pub mod penalty;
pub mod refund;
