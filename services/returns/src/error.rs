//! The service's one error mapping: refusals of the domain and the store, and a
//! transition's failure, as the `kit::Error` the caller is answered with.

use kit::Error;

use crate::{
    domain::{eligibility::Refused, machine::Refusal},
    store::WriteError,
    transition::TransitionError,
};

/// A request the caller may not see does not exist for it.
pub fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "return",
        name: name.to_string(),
    }
}

/// More units of an order line than were bought would be in requests.
pub fn quantity_exceeds_returnable(description: String) -> Error {
    Error::FailedPrecondition {
        reason: "QUANTITY_EXCEEDS_RETURNABLE",
        kind: "ELIGIBILITY",
        subject: "order line".into(),
        description,
    }
}

fn units_taken() -> Error {
    quantity_exceeds_returnable("these units are already in another request".into())
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Self {
        Error::FailedPrecondition {
            reason: r.rule,
            kind: "ELIGIBILITY",
            subject: "order line".into(),
            description: r.why,
        }
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
            Refusal::Invalid { field, why } => Error::invalid(field, why),
            Refusal::Precondition { reason, why } => Error::FailedPrecondition {
                reason,
                kind: "STATE",
                subject: "return".into(),
                description: why,
            },
        }
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Units => units_taken(),
            WriteError::Db(e) => e.into(),
        }
    }
}

impl From<TransitionError> for Error {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Refused(r) => r.into(),
            TransitionError::Units => units_taken(),
            TransitionError::Db(e) => e.into(),
        }
    }
}
