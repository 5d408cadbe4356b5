//! Between protobuf and the domain: parsing requests (collecting every bad field) and
//! rendering stored timers, breaches and dead letters.

use std::collections::BTreeMap;

use aftersales_proto::aftersales::sla::v1::{
    Breach, DeadLetter, Reminder, Timer, TimerEventKind, TimerState, Trigger, WorkingDays,
    reminder::At, trigger::Spec as ProtoSpec,
};
use chrono::{DateTime, Duration, Utc};
use kit::error::Violations;
use prost::Message;

use crate::{
    calendars,
    domain::{Point, ReminderSpec, Spec},
    store::{BreachRow, DeadLetterRow, TimerRow},
};

pub use kit::time::{from_ts, ts};

fn dur(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: (d.subsec_nanos()),
    }
}

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

/// Encodes a reminder list for storage.
pub fn encode_reminders(rs: &[Reminder]) -> Vec<u8> {
    // A wrapper message would be cleaner; a length-delimited sequence is what it encodes to.
    let mut buf = Vec::new();
    for r in rs {
        r.encode_length_delimited(&mut buf).expect("vec grows");
    }
    buf
}

/// Decodes [`encode_reminders`].
pub fn decode_reminders(mut bytes: &[u8]) -> Vec<Reminder> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match Reminder::decode_length_delimited(&mut bytes) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    out
}

/// Database state name -> protobuf state.
fn state(s: &str) -> TimerState {
    match s {
        "scheduled" => TimerState::Scheduled,
        "paused" => TimerState::Paused,
        "fired" => TimerState::Fired,
        "cancelled" => TimerState::Cancelled,
        "dead_letter" => TimerState::DeadLetter,
        _ => TimerState::Unspecified,
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

/// A timer's resource name, `timers/<id>` (built directly: a batch answer names 1,000).
pub fn timer_name(id: uuid::Uuid) -> String {
    let mut name = String::with_capacity(7 + uuid::fmt::Hyphenated::LENGTH);
    name.push_str("timers/");
    name.push_str(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    name
}

/// A stored timer as the API shows it.
pub fn timer(r: &TimerRow) -> Timer {
    into_timer(r.clone())
}

/// [`timer`], taking the row: the answers to new timers move their strings rather than
/// copy them.
pub fn into_timer(r: TimerRow) -> Timer {
    Timer {
        name: timer_name(r.id),
        trigger: Trigger::decode(r.trigger.as_slice()).ok(),
        reminders: decode_reminders(&r.reminder_specs),
        state: state(&r.state) as i32,
        due_time: Some(ts(r.due_time)),
        remaining: r.remaining_ms.map(|ms| dur(Duration::milliseconds(ms))),
        reminders_fired: r.reminders_done.count_ones(),
        fired_time: r.fired_time.map(ts),
        attempts: r.attempts as u32,
        reschedule_count: r.reschedule_count as u32,
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
        owner: r.owner,
        subject: r.subject,
        kind: r.kind,
        payload: r.payload,
        labels: r.labels.0,
        last_error: r.last_error.unwrap_or_default(),
    }
}

/// A breach as the API shows it.
pub fn breach(b: &BreachRow) -> Breach {
    Breach {
        name: format!("breaches/{}", b.id),
        timer: timer_name(b.timer_id),
        owner: b.owner.clone(),
        subject: b.subject.clone(),
        kind: b.kind.clone(),
        due_time: Some(ts(b.due_time)),
        fired_time: Some(ts(b.fired_time)),
        lateness: Some(dur(Duration::milliseconds(b.lateness_ms))),
        labels: b.labels.0.clone(),
    }
}

/// A dead letter as the API shows it.
pub fn dead_letter(d: &DeadLetterRow) -> DeadLetter {
    let (event_kind, reminder_index) = match Point::from_db(d.point) {
        Point::Expiry => (TimerEventKind::Expired, 0),
        Point::Reminder(i) => (TimerEventKind::Reminder, i),
    };
    DeadLetter {
        name: format!("deadLetters/{}", d.id),
        timer: timer_name(d.timer_id),
        owner: d.owner.clone(),
        subject: d.subject.clone(),
        kind: d.kind.clone(),
        event_kind: event_kind as i32,
        reminder_index,
        delivery_id: d.delivery_id.clone(),
        attempts: d.attempts as u32,
        last_error: d.last_error.clone().unwrap_or_default(),
        create_time: Some(ts(d.created_at)),
        replay_time: d.replayed_at.map(ts),
    }
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
