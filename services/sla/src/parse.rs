//! Requests into domain values: triggers, reminders, labels, list filters and resource
//! names, each collecting every bad field into one [`Violations`] (INVALID_ARGUMENT with a
//! field violation per field).

use std::collections::BTreeMap;

use aftersales_proto::aftersales::sla::v1::{
    Reminder, TimerState, Trigger, WorkingDays, reminder::At, trigger::Spec as ProtoSpec,
};
use chrono::{DateTime, Duration, Utc};
use kit::{Error, error::Violations, time::from_ts};

use crate::{
    calendars,
    domain::{ReminderSpec, Spec},
};

fn from_dur(d: &prost_types::Duration) -> Option<Duration> {
    if d.seconds < 0 || d.nanos < 0 {
        return None;
    }
    Some(Duration::seconds(d.seconds) + Duration::nanoseconds(d.nanos as i64))
}

/// Longest clock accepted: ten years (anything longer is a unit mistake).
const MAX_HORIZON_DAYS: i64 = 3650;

/// Parses a trigger into a spec and its start time (`start_time`, default `now`, so a
/// retried command with the same start computes the same due time).
pub fn trigger(
    v: &mut Violations,
    field: &str,
    t: Option<&Trigger>,
    now: DateTime<Utc>,
) -> Option<(Spec, DateTime<Utc>)> {
    let Some(t) = t else {
        v.add(field, "is required");
        return None;
    };
    let start = match &t.start_time {
        Some(s) => match from_ts(s) {
            Some(s) => s,
            None => {
                v.add(format!("{field}.start_time"), "is not a valid timestamp");
                return None;
            }
        },
        None => now,
    };
    let spec = match &t.spec {
        None => {
            v.add(field, "needs one of due_time, after or working_days");
            return None;
        }
        Some(ProtoSpec::DueTime(d)) => match from_ts(d) {
            Some(d) if d <= now + Duration::days(MAX_HORIZON_DAYS) => Spec::At(d),
            _ => {
                v.add(
                    format!("{field}.due_time"),
                    "must be a valid time within ten years",
                );
                return None;
            }
        },
        Some(ProtoSpec::After(d)) => match from_dur(d) {
            Some(d) if d > Duration::zero() && d <= Duration::days(MAX_HORIZON_DAYS) => {
                Spec::After(d)
            }
            _ => {
                v.add(
                    format!("{field}.after"),
                    "must be positive and at most ten years",
                );
                return None;
            }
        },
        Some(ProtoSpec::WorkingDays(WorkingDays { days, calendar })) => {
            if *days == 0 || *days > 2000 {
                v.add(
                    format!("{field}.working_days.days"),
                    "must be between 1 and 2000",
                );
                return None;
            }
            let calendar = if calendar.is_empty() {
                calendars::DEFAULT.to_string()
            } else {
                calendar.clone()
            };
            Spec::WorkingDays {
                days: *days,
                calendar,
            }
        }
    };
    Some((spec, start))
}

/// Parses reminders (at most 16: they are tracked in a bit mask).
pub fn reminders(v: &mut Violations, field: &str, rs: &[Reminder]) -> Vec<ReminderSpec> {
    if rs.len() > 16 {
        v.add(field, "at most 16 reminders");
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        match &r.at {
            Some(At::ElapsedFraction(f)) if *f > 0.0 && *f < 1.0 => {
                out.push(ReminderSpec::Fraction(*f))
            }
            Some(At::ElapsedFraction(_)) => v.add(
                format!("{field}[{i}].elapsed_fraction"),
                "must be between 0 and 1 exclusive",
            ),
            Some(At::BeforeDue(d)) => match from_dur(d) {
                Some(d) if d > Duration::zero() => out.push(ReminderSpec::Before(d)),
                _ => v.add(format!("{field}[{i}].before_due"), "must be positive"),
            },
            None => v.add(
                format!("{field}[{i}]"),
                "needs elapsed_fraction or before_due",
            ),
        }
    }
    out
}

/// Labels limited in size: they travel with every delivery.
pub fn labels(v: &mut Violations, field: &str, l: &BTreeMap<String, String>) {
    if l.len() > 32 || l.iter().any(|(k, val)| k.len() > 64 || val.len() > 256) {
        v.add(
            field,
            "at most 32 labels, keys up to 64 and values up to 256 bytes",
        );
    }
}

/// Protobuf state -> database name, for list filters.
pub fn state_name(s: i32) -> Option<&'static str> {
    Some(match TimerState::try_from(s).ok()? {
        TimerState::Scheduled | TimerState::Firing => "scheduled",
        TimerState::Paused => "paused",
        TimerState::Fired => "fired",
        TimerState::Cancelled => "cancelled",
        TimerState::DeadLetter => "dead_letter",
        TimerState::Unspecified => return None,
    })
}

/// The id of a name in a collection whose ids are not UUIDs, or INVALID_ARGUMENT on
/// `field`. Timer names, `timers/{uuid}`, are read by [`kit::names::parse`].
fn name_id<'a>(field: &str, name: &'a str, prefix: &str) -> Result<&'a str, Error> {
    name.strip_prefix(prefix)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid(field, format!("must look like {prefix}{{id}}")))
}

/// The row id of a dead letter's name, `deadLetters/{n}`.
pub fn dead_letter_id(field: &str, name: &str) -> Result<i64, Error> {
    name_id(field, name, "deadLetters/")?
        .parse()
        .map_err(|_| Error::invalid(field, "dead letter id must be a number"))
}

/// The calendar of a calendar's name, `calendars/{name}` (e.g. `calendars/cn`).
pub fn calendar_name(field: &str, name: &str) -> Result<String, Error> {
    name_id(field, name, "calendars/").map(str::to_string)
}

/// A breach listing's `key=value` label filter; empty means none.
pub fn label_filter(v: &mut Violations, field: &str, label: &str) -> Option<(String, String)> {
    if label.is_empty() {
        return None;
    }
    match label.split_once('=') {
        Some((k, val)) if !k.is_empty() => Some((k.to_string(), val.to_string())),
        _ => {
            v.add(field, "must look like key=value");
            None
        }
    }
}
