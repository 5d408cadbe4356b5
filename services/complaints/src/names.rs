//! Resource names and keys: `complaints/{uuid}`, a ticket's SLA timer ids and clock keys.

use kit::sla;
use uuid::Uuid;

use crate::domain::ticket::Ticket;

/// The collection of complaints.
pub const COMPLAINTS: &str = "complaints";

/// The platform desk's queue: who hears of an unowned ticket and of every breach.
pub const DESK: &str = "complaints-desk";

/// The id of `name` (`complaints/{uuid}`), or INVALID_ARGUMENT on `field`.
pub fn complaint_id(field: &str, name: &str) -> kit::Result<Uuid> {
    kit::names::parse(field, COMPLAINTS, name)
}

/// The outbox key of a ticket's clock number `seq` (its schedule command).
pub fn clock_key(t: &Ticket, seq: u32) -> String {
    format!("{}:clock:{seq}", t.name())
}

/// The SLA timer id of clock `seq`: derived from its key, known before the SLA service
/// answers, so a cancel needs no stored reply and a stale expiry is recognised.
pub fn timer_id(t: &Ticket, seq: u32) -> String {
    sla::timer_id(&clock_key(t, seq))
}
