//! Resource names and keys: `repairs/{uuid}`, repair numbers, a repair's SLA timer ids
//! and clock keys.

use kit::sla;
use uuid::Uuid;

use crate::domain::repair::Repair;

/// The collection of repairs.
pub const REPAIRS: &str = "repairs";

/// The prefix of a repair number (维修): `WX20260302-000042`.
pub const NUMBER_PREFIX: &str = "WX";

/// The platform desk's queue: who hears of every breach and escalation.
pub const DESK: &str = "repairs-desk";

/// The id of `name` (`repairs/{uuid}`), or INVALID_ARGUMENT on `field`.
pub fn repair_id(field: &str, name: &str) -> kit::Result<Uuid> {
    kit::names::parse(field, REPAIRS, name)
}

pub fn name(r: &Repair) -> String {
    kit::names::format(REPAIRS, r.id)
}

/// The outbox key of a repair's clock number `seq` (its schedule command).
pub fn clock_key(r: &Repair, seq: u32) -> String {
    format!("{}:clock:{seq}", name(r))
}

/// The SLA timer id of clock `seq`: derived from its key, known before the SLA service
/// answers, so a cancel needs no stored reply and a stale expiry is recognised.
pub fn timer_id(r: &Repair, seq: u32) -> String {
    sla::timer_id(&clock_key(r, seq))
}
