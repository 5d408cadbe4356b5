//! Domain and stored rows into protobuf: timers, breaches and dead letters as the API and
//! the events show them, and the stored form of a timer's reminder list.

use aftersales_proto::aftersales::sla::v1::{
    Breach, DeadLetter, Reminder, Timer, TimerEventKind, TimerState, Trigger,
};
use chrono::Duration;
use kit::time::ts;
use prost::Message;

use crate::{
    domain::Point,
    store::{BreachRow, DeadLetterRow, TimerRow},
};

fn dur(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: (d.subsec_nanos()),
    }
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
        name: kit::names::format("breaches", b.id),
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
        name: kit::names::format("deadLetters", d.id),
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
