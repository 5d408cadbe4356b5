//! Resource names and keys: `surveys/{uuid}`, a survey's SLA timer.

use uuid::Uuid;

/// The collection of surveys.
pub const SURVEYS: &str = "surveys";

/// The kind of the survey's one clock on the SLA service.
pub const WINDOW: &str = "survey_window";

/// The id of `name` (`surveys/{uuid}`), or INVALID_ARGUMENT on `field`.
pub fn survey_id(field: &str, name: &str) -> kit::Result<Uuid> {
    kit::names::parse(field, SURVEYS, name)
}

pub fn name(id: Uuid) -> String {
    kit::names::format(SURVEYS, id)
}

/// The outbox key of the survey's window clock.
pub fn window_key(id: Uuid) -> String {
    format!("{}:window", name(id))
}

/// The SLA timer id of the survey's window: derived from its key, known before the SLA
/// service answers, so a cancel needs no stored reply.
pub fn window_timer(id: Uuid) -> String {
    kit::sla::timer_id(&window_key(id))
}
