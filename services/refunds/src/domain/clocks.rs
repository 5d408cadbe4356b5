//! The settlement clock (SPEC §4: settle within 1-3 working days; seed 002: insurance
//! claims within 24 h): which span a refund of a kind gets, and the deadline it shows
//! before the SLA service has the timer.

use std::{sync::LazyLock, time::Duration};

use calendar::BusinessCalendar;
use chrono::{DateTime, Utc};

use super::refund::Kind;

/// How long a refund may take to settle: wall-clock time or working days on one of the
/// SLA service's calendars (the same shape the clock request carries).
pub type Clock = kit::sla::Span;

/// The SLA timer kind of the settlement clock.
pub const SETTLEMENT_KIND: &str = "refund_settlement";
/// SPEC §4: every kind but insurance settles within 3 working days.
pub const SETTLEMENT_WORKING_DAYS: u32 = 3;
/// The calendar those days are counted on.
pub const SETTLEMENT_CALENDAR: &str = "cn";
/// Seed 002: a shipping-insurance claim settles within 24 h.
pub const INSURANCE_SETTLEMENT: Duration = Duration::from_secs(24 * 3600);

/// Parsed once: the calendar data is a TOML file compiled in.
static CN: LazyLock<BusinessCalendar> = LazyLock::new(BusinessCalendar::china_mainland);

/// The clock of a refund of `kind`: insurance claims have their own.
pub fn settlement<'a>(kind: Kind, standard: &'a Clock, insurance: &'a Clock) -> &'a Clock {
    if kind == Kind::ShippingInsurance {
        insurance
    } else {
        standard
    }
}

/// The deadline of `clock` started at `start`, as the SLA service computes it (the same
/// calendar rule from `libs/calendar`), shown on the refund before the timer exists. Only
/// the mainland China calendar ships; another name counts on it too.
pub fn due(clock: &Clock, start: DateTime<Utc>) -> DateTime<Utc> {
    match clock {
        Clock::After(d) => start + chrono::Duration::from_std(*d).unwrap_or_default(),
        Clock::WorkingDays { days, .. } => CN.add_working_days(start, *days).value,
    }
}
