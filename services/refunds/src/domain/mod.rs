//! The refund rules, free of transport and SQL: the refund state machine, what a payout
//! outcome does to it and the settlement clock (money and the late penalty are the shared
//! `rules` crate).

pub mod clocks;
pub mod payout;
pub mod refund;
