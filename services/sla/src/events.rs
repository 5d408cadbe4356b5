//! The domain events the SLA service publishes (`aftersales.sla.v1` events.proto) on its
//! stream, through the outbox in the transaction that records the fact: scorecards count
//! met (cancelled) and breached (expired) clocks from them, operators watch dead letters.

use aftersales_proto::aftersales::sla::v1::{TimerCancelled, TimerDeadLettered, TimerExpired};
use kit::outbox::Batch;

use crate::{
    render,
    store::{BreachRow, DeadLetterRow, TimerRow},
};

/// The `source` of every envelope.
pub const SOURCE: &str = "sla";
/// The stream the events go to.
pub const TOPIC: &str = "sla";

/// A timer expired: its breach, as recorded.
pub fn expired(events: &mut Batch, b: &BreachRow) {
    events.event(
        SOURCE,
        TOPIC,
        &render::timer_name(b.timer_id),
        &TimerExpired {
            breach: Some(render::breach(b)),
        },
    );
}

/// A delivery was parked as a dead letter.
pub fn dead_lettered(events: &mut Batch, d: &DeadLetterRow) {
    events.event(
        SOURCE,
        TOPIC,
        &render::timer_name(d.timer_id),
        &TimerDeadLettered {
            dead_letter: Some(render::dead_letter(d)),
        },
    );
}

/// A timer was cancelled before its due time: the clock was met.
pub fn cancelled(events: &mut Batch, t: &TimerRow, reason: &str) {
    events.event(
        SOURCE,
        TOPIC,
        &render::timer_name(t.id),
        &TimerCancelled {
            timer: Some(render::timer(t)),
            reason: reason.to_string(),
        },
    );
}
