//! The one mapping of refunds' refusals to `kit::Error` (and so to a `Status` with its
//! `google.rpc` details): the ledger's named constraints as `store::WriteError`, and the
//! rules the API checks on a locked refund.

use kit::Error;
use rules::penalty::PenaltyError;

use crate::{domain::refund::Kind, store::WriteError};

/// The refund `name` does not exist (or the caller may not see it).
pub fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "refund",
        name: name.to_string(),
    }
}

fn ledger(reason: &'static str, subject: String, description: String) -> Error {
    Error::FailedPrecondition {
        reason,
        kind: "LEDGER",
        subject,
        description,
    }
}

/// A line cap refused the refund; `remaining` is what is left of the `which` cap.
pub fn cap_exceeded(which: &str, order: &str, line: &str, remaining: Option<i64>) -> Error {
    ledger(
        "REFUND_EXCEEDS_PAID",
        format!("orders/{order}/lines/{line}"),
        format!(
            "the {which} refunded on this line would exceed what was paid; {} minor units remain",
            remaining.unwrap_or(0)
        ),
    )
}

/// A second refund of a once-per-case kind for `case`.
pub fn once_per_case(case: &str, kind: Kind) -> Error {
    Error::AlreadyExists(format!("{case} already has a {} refund", kind.as_str()))
}

/// A recovery above what the platform advanced; `remaining` is what is left to recover.
pub fn recovery_exceeds_advance(name: &str, remaining: i64) -> Error {
    ledger(
        "RECOVERY_EXCEEDS_ADVANCE",
        name.to_string(),
        format!("only {remaining} minor units remain to recover"),
    )
}

/// A second platform advance of one refund.
pub fn already_advanced(name: &str) -> Error {
    ledger(
        "ALREADY_ADVANCED",
        name.to_string(),
        "the platform already advanced this refund".into(),
    )
}

/// An advance of a refund nobody else owes.
pub fn not_recoverable(name: &str) -> Error {
    ledger(
        "NOT_RECOVERABLE",
        name.to_string(),
        "only a refund the merchant or the carrier owes can be advanced".into(),
    )
}

/// A recovery of a refund the platform did not advance.
pub fn no_advance(name: &str) -> Error {
    ledger(
        "NO_ADVANCE",
        name.to_string(),
        "the platform has not advanced this refund".into(),
    )
}

/// A late penalty the shared rule cannot compute.
pub fn penalty(e: PenaltyError) -> Error {
    match e {
        PenaltyError::NegativeAmount => Error::invalid("line_amount", "must not be negative"),
        PenaltyError::Overflow => {
            Error::invalid("late_days", "the penalty does not fit in 64 bits")
        }
    }
}

/// The refusals that need no context beyond the error itself; the callers turn the cap,
/// once-per-case and recovery refusals into the errors above first. Anything else (a
/// database error on these writes included) is INTERNAL, as it always was.
impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::CurrencyMismatch(cur) => {
                Error::invalid("amount.currency", format!("the line was paid in {cur}"))
            }
            other => Error::Internal(other.into()),
        }
    }
}
