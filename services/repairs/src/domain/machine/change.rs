//! A transition in the making: the repair as it becomes, the effects it causes, and the
//! small verbs the rules are written in (to, start, stop, notify, breach).

use chrono::{DateTime, Utc};

use super::{Effect, Event, Refusal};
use crate::domain::{
    clocks::{ClockKind, Spans},
    kinds::{Party, State},
    repair::{Breach, Clock, Repair},
};

pub(super) struct Change<'a> {
    pub r: Repair,
    pub now: DateTime<Utc>,
    action: &'static str,
    spans: &'a Spans,
    effects: Vec<Effect>,
}

impl<'a> Change<'a> {
    pub fn new(r: &Repair, action: &'static str, now: DateTime<Utc>, spans: &'a Spans) -> Self {
        Self {
            r: r.clone(),
            now,
            action,
            spans,
            effects: Vec::new(),
        }
    }

    pub fn illegal(&self) -> Refusal {
        Refusal::IllegalState {
            state: self.r.state,
            action: self.action,
        }
    }

    pub fn only_in(&self, states: &[State]) -> Result<(), Refusal> {
        if states.contains(&self.r.state) {
            Ok(())
        } else {
            Err(self.illegal())
        }
    }

    /// Moves to `s`: an event, and the buyer told of every change of state.
    pub fn to(mut self, s: State) -> Self {
        if self.r.state != s {
            self.r.state = s;
            self.effects.push(Effect::Publish(Event::StateChanged));
            if s.is_final() {
                self.r.closed = Some(self.now);
            }
        }
        self
    }

    /// Starts `kind` for its span (a running one of that kind is replaced).
    pub fn start(self, kind: ClockKind) -> Self {
        let due = self.spans.due(kind, self.now);
        self.start_until(kind, due)
    }

    /// Starts `kind` due at `due`.
    pub fn start_until(mut self, kind: ClockKind, due: DateTime<Utc>) -> Self {
        self = self.stop(kind);
        self.r.clock_seq += 1;
        let seq = self.r.clock_seq;
        self.r.clocks.push(Clock {
            kind,
            seq,
            start: self.now,
            due,
        });
        self.effects.push(Effect::StartClock { seq });
        self
    }

    /// Stops `kind` if it runs.
    pub fn stop(mut self, kind: ClockKind) -> Self {
        if let Some(k) = self.r.clock(kind) {
            self.effects.push(Effect::StopClock { seq: k.seq });
        }
        self.r.clocks.retain(|k| k.kind != kind);
        self
    }

    /// Forgets `kind`, whose timer just fired: there is nothing left to cancel (a cancel
    /// racing the SLA service's record of the expiry could even erase the breach).
    pub fn fired(mut self, kind: ClockKind) -> Self {
        self.r.clocks.retain(|k| k.kind != kind);
        self
    }

    /// When `kind` would run out if started at `start`.
    pub fn due_of(&self, kind: ClockKind, start: DateTime<Utc>) -> DateTime<Utc> {
        self.spans.due(kind, start)
    }

    /// Stops every clock (a final state, or a step that changes what is awaited).
    pub fn stop_all(mut self) -> Self {
        for k in std::mem::take(&mut self.r.clocks) {
            self.effects.push(Effect::StopClock { seq: k.seq });
        }
        self
    }

    /// Records that `kind`, due at `due`, ran out before its step was done.
    pub fn breach(mut self, kind: ClockKind, due: DateTime<Utc>) -> Self {
        self.r.breaches.push(Breach { clock: kind, due });
        self
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

    /// The repair after the step (counted, dated) and what it causes.
    pub fn finish(mut self) -> (Repair, Vec<Effect>) {
        self.r.updated = self.now;
        self.r.step += 1;
        (self.r, self.effects)
    }
}
