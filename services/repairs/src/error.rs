//! The service's one error mapping: refusals of the domain and the store as the
//! `kit::Error` the caller is answered with.

use kit::Error;

use crate::{domain::machine::Refusal, store::WriteError, transition::TransitionError};

/// A repair the caller may not see does not exist for it.
pub fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "repair",
        name: name.to_string(),
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::IllegalState { state, action } => Error::FailedPrecondition {
                reason: "ILLEGAL_STATE_TRANSITION",
                kind: "STATE",
                subject: state.as_str().into(),
                description: format!("cannot {action} in state {}", state.as_str()),
            },
            Refusal::Precondition { reason, why } => Error::FailedPrecondition {
                reason,
                kind: "STATE",
                subject: "repair".into(),
                description: why,
            },
            Refusal::Invalid { field, why } => Error::invalid(field, why),
        }
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::LineOpen => Error::FailedPrecondition {
                reason: "REPAIR_ALREADY_OPEN",
                kind: "STATE",
                subject: "order_line".into(),
                description: "the order line already has an open repair".into(),
            },
            WriteError::Db(e) => e.into(),
        }
    }
}

impl From<TransitionError> for Error {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Refused(r) => r.into(),
            TransitionError::Db(e) => e.into(),
        }
    }
}
