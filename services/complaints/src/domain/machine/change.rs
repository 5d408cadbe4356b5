//! A transition in the making: the ticket as it becomes, the effects it causes, and the
//! small verbs the rules are written in (to, start, stop, pause, resume, notify).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Effect, Event, Refusal};
use crate::domain::{
    clocks::{Clock, ClockKind, Spans},
    kinds::{Party, State},
    ticket::Ticket,
};

pub(super) struct Change<'a> {
    pub t: Ticket,
    pub now: DateTime<Utc>,
    action: &'static str,
    spans: &'a Spans,
    effects: Vec<Effect>,
}

impl<'a> Change<'a> {
    pub fn new(t: &Ticket, action: &'static str, now: DateTime<Utc>, spans: &'a Spans) -> Self {
        Self {
            t: t.clone(),
            now,
            action,
            spans,
            effects: Vec::new(),
        }
    }

    pub fn illegal(&self) -> Refusal {
        Refusal::IllegalState {
            state: self.t.state,
            action: self.action,
        }
    }

    pub fn only_in(&self, states: &[State]) -> Result<(), Refusal> {
        if states.contains(&self.t.state) {
            Ok(())
        } else {
            Err(self.illegal())
        }
    }

    /// Moves to `s`; a change of state is an event.
    pub fn to(mut self, s: State) -> Self {
        if self.t.state != s {
            self.t.state = s;
            self.effects.push(Effect::Publish(Event::StateChanged));
        }
        self
    }

    /// Starts `kind` for its span under the ticket's priority.
    pub fn start(self, kind: ClockKind) -> Self {
        let span = self.spans.span(kind, self.t.priority);
        self.start_for(kind, span)
    }

    /// Starts `kind` for `span` (a deadline the step chose, or the time a paused clock
    /// had left). A clock of the same kind still running is stopped first.
    pub fn start_for(mut self, kind: ClockKind, span: Duration) -> Self {
        self = self.stop(kind);
        self.t.clock_seq += 1;
        let seq = self.t.clock_seq;
        let due = self.now + chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
        self.t.clocks.push(Clock {
            kind,
            seq,
            start: self.now,
            due: Some(due),
            remaining_ms: None,
        });
        self.effects.push(Effect::StartClock { seq });
        self
    }

    /// Stops `kind` if it runs (a paused one has no timer left to cancel).
    pub fn stop(mut self, kind: ClockKind) -> Self {
        if let Some(k) = self.t.clocks.iter().find(|k| k.kind == kind)
            && k.remaining_ms.is_none()
        {
            self.effects.push(Effect::StopClock { seq: k.seq });
        }
        self.t.clocks.retain(|k| k.kind != kind);
        self
    }

    /// Pauses `kind`: its timer is cancelled and the time left kept on the ticket.
    pub fn pause(mut self, kind: ClockKind) -> Self {
        let now = self.now;
        if let Some(k) = self
            .t
            .clocks
            .iter_mut()
            .find(|k| k.kind == kind && k.remaining_ms.is_none())
        {
            let left = k.due.map_or(0, |d| (d - now).num_milliseconds().max(0));
            k.remaining_ms = Some(left);
            k.due = None;
            self.effects.push(Effect::StopClock { seq: k.seq });
        }
        self
    }

    /// Resumes a paused `kind` on a fresh timer for the time it had left.
    pub fn resume(self, kind: ClockKind) -> Self {
        let Some(left) = self
            .t
            .clocks
            .iter()
            .find(|k| k.kind == kind)
            .and_then(|k| k.remaining_ms)
        else {
            return self;
        };
        let mut c = self;
        c.t.clocks.retain(|k| k.kind != kind);
        c.start_for(kind, Duration::from_millis(left as u64))
    }

    pub fn notify(mut self, to: Party, template: &'static str) -> Self {
        self.effects.push(Effect::Notify { to, template });
        self
    }

    pub fn publish(mut self, e: Event) -> Self {
        self.effects.push(Effect::Publish(e));
        self
    }

    pub fn emit(mut self, e: Effect) -> Self {
        self.effects.push(e);
        self
    }

    /// The ticket after the step (counted, dated) and what it causes.
    pub fn finish(mut self) -> (Ticket, Vec<Effect>) {
        self.t.updated = self.now;
        self.t.step += 1;
        (self.t, self.effects)
    }
}
