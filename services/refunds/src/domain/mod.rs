//! The refund rules, free of transport and SQL: the refund state machine and what a
//! payout outcome does to it (money and the late penalty are the shared `rules` crate).

pub mod payout;
pub mod refund;
