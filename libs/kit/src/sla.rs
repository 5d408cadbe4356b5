//! Clock requests to the SLA service, as every case-owning service sends them: through
//! the outbox, keyed by the case and the clock so that a replayed transition schedules
//! or cancels nothing twice. A case's timer id is derived from its own key (a UUIDv5),
//! known before the SLA service answers, so a cancel needs no stored reply and a stale
//! expiry is recognised.

use std::time::Duration;

use aftersales_proto::aftersales::sla::v1::{
    CancelTimerRequest, Reminder, ScheduleTimerRequest, Trigger, WorkingDays, reminder, trigger,
};
use chrono::{DateTime, Utc};

use crate::{
    outbox::{Batch, request_id_for},
    time::ts,
};

/// The peer the commands go to (`SLA_URL`).
pub const TARGET: &str = "sla";
/// `SlaService.ScheduleTimer`.
pub const SCHEDULE: &str = "/aftersales.sla.v1.SlaService/ScheduleTimer";
/// `SlaService.CancelTimer`.
pub const CANCEL: &str = "/aftersales.sla.v1.SlaService/CancelTimer";

/// How long a clock runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// Wall-clock time.
    After(Duration),
    /// Working days on one of the SLA service's business calendars (`cn`).
    WorkingDays { days: u32, calendar: String },
}

/// A clock a case starts on the SLA service.
#[derive(Clone, Debug, PartialEq)]
pub struct Clock {
    /// The timer's id (see [`timer_id`]).
    pub timer_id: String,
    /// The case it runs for, e.g. `returns/{uuid}`: the callback's subject.
    pub subject: String,
    /// What expires, e.g. `merchant_review`: the callback's kind.
    pub kind: String,
    /// When the clock started: the fact's time, never the send time, so a redelivered
    /// command computes the same deadline.
    pub start: DateTime<Utc>,
    /// How long it runs.
    pub span: Span,
    /// A reminder at this fraction of the span (0.8 = 80 %), if the parties get one.
    pub remind_at: Option<f64>,
    /// Whose clock it is: echoed on every delivery and copied to a breach, so the
    /// scorecards count met and breached clocks per merchant and party.
    pub labels: Labels,
}

/// Who must act before a clock runs out: the `party` label.
pub mod party {
    pub const MERCHANT: &str = "merchant";
    pub const BUYER: &str = "buyer";
    pub const PLATFORM: &str = "platform";
    pub const CARRIER: &str = "carrier";
}

/// A clock's labels (the SLA contract's conventions, `merchant_id` and `party`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    /// The merchant of the case.
    pub merchant_id: String,
    /// One of [`party`].
    pub party: &'static str,
}

impl Labels {
    pub fn new(merchant_id: &str, party: &'static str) -> Self {
        Self {
            merchant_id: merchant_id.to_string(),
            party,
        }
    }
}

/// The timer id a case derives from a key of its own (`returns/{uuid}:clock:3`).
pub fn timer_id(key: &str) -> String {
    request_id_for(key)
}

/// The `timers/{id}` name of a timer id.
pub fn timer_name(timer_id: &str) -> String {
    crate::names::format("timers", timer_id)
}

/// The ScheduleTimer request of `clock`, its `request_id` derived from `key`.
pub fn schedule_request(key: &str, clock: &Clock) -> ScheduleTimerRequest {
    let spec = match &clock.span {
        Span::After(d) => trigger::Spec::After(prost_types::Duration {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }),
        Span::WorkingDays { days, calendar } => trigger::Spec::WorkingDays(WorkingDays {
            days: *days,
            calendar: calendar.clone(),
        }),
    };
    ScheduleTimerRequest {
        timer_id: clock.timer_id.clone(),
        subject: clock.subject.clone(),
        kind: clock.kind.clone(),
        trigger: Some(Trigger {
            spec: Some(spec),
            start_time: Some(ts(clock.start)),
        }),
        reminders: clock
            .remind_at
            .map(|f| Reminder {
                at: Some(reminder::At::ElapsedFraction(f)),
            })
            .into_iter()
            .collect(),
        request_id: request_id_for(key),
        labels: [
            ("merchant_id", clock.labels.merchant_id.as_str()),
            ("party", clock.labels.party),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    }
}

/// The CancelTimer request of timer `timer_id`, its `request_id` derived from `key`.
pub fn cancel_request(key: &str, timer_id: &str, reason: impl Into<String>) -> CancelTimerRequest {
    CancelTimerRequest {
        name: timer_name(timer_id),
        reason: reason.into(),
        request_id: request_id_for(key),
    }
}

/// Queues the command that starts `clock`, under the outbox key `key`.
pub fn schedule(out: &mut Batch, key: &str, clock: &Clock) {
    out.command(TARGET, SCHEDULE, key, &schedule_request(key, clock));
}

/// Queues the command that stops timer `timer_id`, under the outbox key `key`.
pub fn cancel(out: &mut Batch, key: &str, timer_id: &str, reason: impl Into<String>) {
    out.command(TARGET, CANCEL, key, &cancel_request(key, timer_id, reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_request_carries_the_span_start_and_reminder() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = Clock {
            timer_id: timer_id("returns/1:clock:1"),
            subject: "returns/1".into(),
            kind: "merchant_review".into(),
            start,
            span: Span::WorkingDays {
                days: 3,
                calendar: "cn".into(),
            },
            remind_at: Some(0.8),
            labels: Labels::new("merchant-1", party::MERCHANT),
        };
        let r = schedule_request("returns/1:clock:1", &clock);
        assert_eq!(r.timer_id, r.request_id, "one key, one derived id");
        let t = r.trigger.unwrap();
        assert_eq!(t.start_time.unwrap().seconds, 1_700_000_000);
        assert!(matches!(t.spec, Some(trigger::Spec::WorkingDays(w)) if w.days == 3));
        assert_eq!(r.reminders.len(), 1);
        assert_eq!(r.labels["merchant_id"], "merchant-1");
        assert_eq!(r.labels["party"], "merchant");
        let r = schedule_request(
            "k",
            &Clock {
                span: Span::After(Duration::from_millis(1500)),
                remind_at: None,
                ..clock
            },
        );
        assert!(
            matches!(r.trigger.unwrap().spec, Some(trigger::Spec::After(d)) if d.seconds == 1 && d.nanos == 500_000_000)
        );
        assert!(r.reminders.is_empty());
    }

    #[test]
    fn a_cancel_names_the_timer() {
        let c = cancel_request("returns/1:clock:1:cancel", "abc", "moved on");
        assert_eq!(c.name, "timers/abc");
        assert_eq!(c.request_id, request_id_for("returns/1:clock:1:cancel"));
    }
}
