//! The one error model: every service's domain and store errors end up as [`Error`], which
//! maps once to a `tonic::Status` carrying `google.rpc` details (BadRequest field
//! violations, PreconditionFailure, ErrorInfo) so callers can act on them programmatically.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error this suite returns.
pub const ERROR_DOMAIN: &str = "aftersales.example.com";

/// One invalid field of a request (`google.rpc.BadRequest.FieldViolation`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `quantity` or `lines[2].amount.currency`.
    pub field: String,
    /// What is wrong with it, for a human.
    pub description: String,
}

/// Collects every bad field of a request before answering, so a caller fixes all at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one bad field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes over `inner`'s violations, each field under `prefix` (`prefix.field`): an
    /// item of a list is checked on its own, and only a bad one pays for its path.
    pub fn absorb(&mut self, prefix: &str, inner: Violations) {
        self.0.extend(inner.0.into_iter().map(|f| FieldViolation {
            field: format!("{prefix}.{}", f.field),
            description: f.description,
        }));
    }

    /// Runs a parse step, recording its failure under `field` and returning the value if ok.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// `Ok(())` when nothing was recorded, else the INVALID_ARGUMENT error.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

/// An error any RPC can answer with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: one violation per bad field.
    #[error("invalid argument: {0:?}")]
    InvalidArgument(Vec<FieldViolation>),
    /// No token, or a token that does not verify.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role may not call this method.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The resource does not exist, or the caller may not know that it does.
    #[error("{resource} not found: {name}")]
    NotFound {
        resource: &'static str,
        name: String,
    },
    /// A rule or the current state forbids the operation; nothing was changed.
    #[error("failed precondition {reason}: {description}")]
    FailedPrecondition {
        /// Stable machine-readable reason (UPPER_SNAKE), e.g. `NO_REASON_WINDOW_CLOSED`.
        reason: &'static str,
        /// Violation type, e.g. `STATE` or `ELIGIBILITY`.
        kind: &'static str,
        /// What it is about, e.g. `returns/123` or the current state.
        subject: String,
        /// Human explanation.
        description: String,
    },
    /// The resource already exists (e.g. a second open request for the same units).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A concurrent change won; retry the whole read-modify-write.
    #[error("aborted: {0}")]
    Aborted(String),
    /// A dependency is down or the service is not ready; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged with detail, answered without it.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// A single-field INVALID_ARGUMENT.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// A FAILED_PRECONDITION about the current state of a resource.
    pub fn illegal_state(subject: impl Into<String>, state: &str, action: &str) -> Self {
        Self::FailedPrecondition {
            reason: "ILLEGAL_STATE_TRANSITION",
            kind: "STATE",
            subject: subject.into(),
            description: format!("cannot {action} in state {state}"),
        }
    }
}

/// The field violations of a peer's INVALID_ARGUMENT (its `BadRequest` details), so a
/// caller can pass them on, or tell its own mistake from one it passed on.
pub fn peer_violations(s: &Status) -> Vec<FieldViolation> {
    s.get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: v.field,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable("database unavailable".into())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let info = |reason: &str| {
            let mut d = ErrorDetails::new();
            d.set_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
            d
        };
        match e {
            Error::InvalidArgument(violations) => {
                let mut d = info("INVALID_ARGUMENT");
                for v in &violations {
                    d.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid fields: {}", fields.join(", ")),
                    d,
                )
            }
            Error::Unauthenticated(m) => {
                Status::with_error_details(Code::Unauthenticated, m, info("UNAUTHENTICATED"))
            }
            Error::PermissionDenied(m) => {
                Status::with_error_details(Code::PermissionDenied, m, info("PERMISSION_DENIED"))
            }
            Error::NotFound { resource, name } => Status::with_error_details(
                Code::NotFound,
                format!("{resource} {name} not found"),
                info("NOT_FOUND"),
            ),
            Error::FailedPrecondition {
                reason,
                kind,
                subject,
                description,
            } => {
                let mut d = info(reason);
                d.add_precondition_failure_violation(kind, subject, description.clone());
                Status::with_error_details(Code::FailedPrecondition, description, d)
            }
            Error::AlreadyExists(m) => {
                Status::with_error_details(Code::AlreadyExists, m, info("ALREADY_EXISTS"))
            }
            Error::Aborted(m) => Status::with_error_details(Code::Aborted, m, info("ABORTED")),
            Error::Unavailable(m) => {
                Status::with_error_details(Code::Unavailable, m, info("UNAVAILABLE"))
            }
            Error::Internal(err) => {
                // The detail goes to the log with the trace, never to the caller.
                tracing::error!(error = ?err, "internal error");
                Status::with_error_details(Code::Internal, "internal error", info("INTERNAL"))
            }
        }
    }
}

/// Result alias for handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The one place a handler's outcome becomes the gRPC answer: a trait method is
/// `kit::answer(self.create(who, request).await)`, its logic a fn returning [`Result`].
pub fn answer<T>(r: Result<T>) -> std::result::Result<tonic::Response<T>, Status> {
    r.map(tonic::Response::new).map_err(Status::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_every_field() {
        let mut v = Violations::new();
        v.add("quantity", "must be at least 1");
        v.add("order_id", "is required");
        let status: Status = v.finish().unwrap_err().into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|f| f.field.clone())
            .collect();
        assert_eq!(fields, ["quantity", "order_id"]);
        assert_eq!(details.error_info().unwrap().domain, ERROR_DOMAIN);
    }

    #[test]
    fn precondition_names_the_rule() {
        let status: Status = Error::illegal_state("returns/1", "CLOSED", "approve").into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let d = status.get_error_details();
        let pf = d.precondition_failure().unwrap();
        assert_eq!(pf.violations[0].subject, "returns/1");
        assert_eq!(d.error_info().unwrap().reason, "ILLEGAL_STATE_TRANSITION");
    }

    #[test]
    fn internal_hides_detail() {
        let status: Status = Error::Internal(anyhow::anyhow!("password=hunter2")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
