//! A change being built by a step: the request after it, the effects so far, and what
//! it was asked to do from which state (for a refusal), with the moves every step uses.

use chrono::{DateTime, Utc};

use super::{ClockKind, Effect, Event, Refusal};
use crate::domain::{
    case::{Case, Clock, Party},
    kinds::State,
};

/// A change being built: the request after it, the effects so far, and what it was
/// asked to do from which state (for a refusal).
pub(super) struct Change {
    pub case: Case,
    pub effects: Vec<Effect>,
    pub from: State,
    pub action: &'static str,
}

impl Change {
    /// Refuses the command unless the request was in `allowed`.
    pub(super) fn only_in(&self, allowed: &[State]) -> Result<(), Refusal> {
        if allowed.contains(&self.from) {
            Ok(())
        } else {
            Err(self.illegal())
        }
    }
    pub(super) fn illegal(&self) -> Refusal {
        Refusal::IllegalState {
            state: self.from,
            action: self.action,
        }
    }
    pub(super) fn to(mut self, state: State) -> Self {
        self.case.state = state;
        self
    }
    pub(super) fn start(mut self, kind: ClockKind, start: DateTime<Utc>) -> Self {
        self = self.stop();
        self.case.clock_seq += 1;
        let seq = self.case.clock_seq;
        self.case.clock = Some(Clock {
            kind,
            start,
            due: None,
            seq,
            escalated: None,
        });
        self.effects.push(Effect::StartClock);
        self
    }
    pub(super) fn stop(mut self) -> Self {
        if let Some(c) = self.case.clock.take() {
            self.effects.push(Effect::StopClock { seq: c.seq });
        }
        self
    }
    pub(super) fn emit(mut self, e: Effect) -> Self {
        self.effects.push(e);
        self
    }
    pub(super) fn publish(self, e: Event) -> Self {
        self.emit(Effect::Publish(e))
    }
    pub(super) fn notify(self, to: Party, template: &'static str) -> Self {
        self.emit(Effect::Notify { to, template })
    }
    /// The running clock ran out and the platform desk is told; the request waits on.
    pub(super) fn escalate(
        mut self,
        cause: &'static str,
        detail: String,
        now: DateTime<Utc>,
    ) -> Self {
        if let Some(k) = self.case.clock.as_mut() {
            k.escalated.get_or_insert(now);
        }
        self.publish(Event::Escalated { cause, detail })
            .notify(Party::Platform, cause)
    }
}
