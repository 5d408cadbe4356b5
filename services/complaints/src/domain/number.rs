//! Human-readable ticket numbers for status queries: `TS` + the filing day in Beijing
//! time + a sequence, e.g. `TS20261203-000042` (`kit::names::case_number`).

use chrono::{DateTime, Utc};

/// The prefix of a ticket number.
pub const PREFIX: &str = "TS";

/// The number of the `seq`-th ticket, filed at `at`.
pub fn format(at: DateTime<Utc>, seq: i64) -> String {
    kit::names::case_number(PREFIX, at, seq)
}

/// Whether `s` looks like a ticket number (before it is looked up).
pub fn looks_like(s: &str) -> bool {
    kit::names::looks_like_case_number(PREFIX, s)
}
