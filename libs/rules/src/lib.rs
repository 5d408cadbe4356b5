//! Pure platform rules that more than one service applies, so that returns, repairs and
//! refunds charge the same fen for the same facts: money in integer minor units and the
//! late penalty and the days it is charged for (SPEC §4); the complaint-surge early warning (SPEC §6); a lost
//! purchase voucher's stand-ins (seed 001 §7.4). No I/O, no
//! proto, no SQL: plain functions and their tests.

pub mod lateness;
pub mod money;
pub mod penalty;
pub mod surge;
pub mod voucher;

pub use money::{Currency, Money};
pub use penalty::{Penalty, PenaltyError, late_penalty};
