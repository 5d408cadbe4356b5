//! Changes to one timer: cancel, reschedule, pause and resume, each in a transaction that
//! locks the timer, with request-id idempotency, and then brings Redis in step.

use aftersales_proto::aftersales::sla::v1::{
    CancelTimerRequest, PauseTimerRequest, RescheduleTimerRequest, ResumeTimerRequest, Timer,
};
use chrono::{Duration, Utc};
use kit::{
    Error,
    auth::Principal,
    error::Violations,
    idempotency::{self, Claim},
    outbox::Batch,
};
use prost::Message;

use super::{Api, owner_scope};
use crate::{
    domain::{self, ClockKind},
    events, parse, render,
    store::{self, TimerRow},
};

impl Api {
    /// Runs a state change on one timer in a transaction, with request-id idempotency.
    async fn change<M: Message + Default>(
        &self,
        who: &Principal,
        method: &str,
        name: &str,
        request_id: &str,
        request: &M,
        apply: impl FnOnce(&mut TimerRow, &mut Batch) -> Result<(), Error>,
    ) -> Result<Timer, Error> {
        let id = kit::names::parse("name", "timers", name)?;
        if !request_id.is_empty() {
            idempotency::parse_request_id(request_id)
                .map_err(|e| Error::invalid("request_id", e))?;
        }
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if !request_id.is_empty()
            && let Claim::Replay(bytes) =
                idempotency::claim(&mut tx, &caller, method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = store::lock(&mut tx, id)
            .await?
            .filter(|t| owner_scope(who).is_none_or(|o| o == t.owner))
            .ok_or_else(|| Error::NotFound {
                resource: "timer",
                name: name.to_string(),
            })?;
        let mut after = before.clone();
        let mut events = Batch::default();
        apply(&mut after, &mut events)?;
        store::update(&mut tx, &after).await?;
        events.flush(&mut tx).await?;
        let answer = render::timer(&after);
        if !request_id.is_empty() {
            idempotency::complete(&mut tx, &caller, method, request_id, &answer).await?;
        }
        tx.commit().await?;
        self.sync(&before, &after).await;
        Ok(answer)
    }
}

fn require_state(t: &TimerRow, allowed: &[&str], action: &str) -> Result<(), Error> {
    if allowed.contains(&t.state.as_str()) {
        Ok(())
    } else {
        Err(Error::illegal_state(
            render::timer_name(t.id),
            &t.state,
            action,
        ))
    }
}

pub(super) async fn cancel_timer(
    api: &Api,
    who: &Principal,
    r: CancelTimerRequest,
) -> kit::Result<Timer> {
    let t = api
        .change(
            who,
            "CancelTimer",
            &r.name,
            &r.request_id,
            &r,
            |t, events| {
                require_state(t, &["scheduled", "paused"], "cancel")?;
                t.state = "cancelled".into();
                t.next_point = None;
                t.next_fire_at = None;
                // The clock was met: scorecards count these.
                events::cancelled(events, t, &r.reason);
                Ok(())
            },
        )
        .await?;
    Ok(t)
}

pub(super) async fn reschedule_timer(
    api: &Api,
    who: &Principal,
    r: RescheduleTimerRequest,
) -> kit::Result<Timer> {
    let now = Utc::now();
    let mut v = Violations::new();
    if r.reason.trim().is_empty() {
        v.add("reason", "is required: an extension must say why");
    }
    let parsed = parse::trigger(&mut v, "trigger", r.trigger.as_ref(), now);
    v.finish()?;
    let (spec, start) = parsed.ok_or_else(|| Error::invalid("trigger", "is invalid"))?;
    let cal_name = match &spec {
        domain::Spec::WorkingDays { calendar, .. } => Some(calendar.clone()),
        _ => None,
    };
    let cal = cal_name.as_ref().and_then(|n| api.calendars.get(n));
    if cal_name.is_some() && cal.is_none() {
        return Err(Error::invalid(
            "trigger.working_days.calendar",
            "unknown calendar",
        ));
    }
    let trigger_bytes = r
        .trigger
        .as_ref()
        .map(Message::encode_to_vec)
        .unwrap_or_default();
    let t = api
        .change(
            who,
            "RescheduleTimer",
            &r.name,
            &r.request_id,
            &r,
            |t, _| {
                require_state(t, &["scheduled", "paused"], "reschedule")?;
                let (due, _) = spec.due(start, cal.as_ref());
                let specs: Vec<_> = {
                    let mut scratch = Violations::new();
                    parse::reminders(
                        &mut scratch,
                        "reminders",
                        &render::decode_reminders(&t.reminder_specs),
                    )
                };
                let at = domain::reminder_instants(start, due, &specs);
                t.reminders_done = domain::mask_past(&at, now) as i32;
                t.reminder_at =
                    sqlx::types::Json(at.iter().map(|x| x.timestamp_millis()).collect());
                t.trigger = trigger_bytes;
                t.start_time = start;
                t.due_time = due;
                t.clock = spec.clock().as_str().into();
                t.calendar = cal_name;
                t.generation += 1;
                t.reschedule_count += 1;
                t.attempts = 0;
                t.last_error = None;
                if t.state == "paused" {
                    let clock = ClockKind::from_db(&t.clock);
                    t.remaining_ms =
                        Some(domain::remaining(clock, now, due, cal.as_ref()).num_milliseconds());
                } else {
                    let (p, at) = domain::next_point(&at, t.reminders_done as u32, due);
                    t.next_point = Some(p.to_db());
                    t.next_fire_at = Some(at);
                }
                Ok(())
            },
        )
        .await?;
    tracing::info!(timer = %r.name, reason = %r.reason, "timer rescheduled");
    Ok(t)
}

pub(super) async fn pause_timer(
    api: &Api,
    who: &Principal,
    r: PauseTimerRequest,
) -> kit::Result<Timer> {
    let now = Utc::now();
    let calendars = api.calendars.clone();
    let t = api
        .change(who, "PauseTimer", &r.name, &r.request_id, &r, |t, _| {
            require_state(t, &["scheduled"], "pause")?;
            let clock = ClockKind::from_db(&t.clock);
            let cal = t.calendar.as_ref().and_then(|c| calendars.get(c));
            t.remaining_ms =
                Some(domain::remaining(clock, now, t.due_time, cal.as_ref()).num_milliseconds());
            t.state = "paused".into();
            t.next_point = None;
            t.next_fire_at = None;
            Ok(())
        })
        .await?;
    Ok(t)
}

pub(super) async fn resume_timer(
    api: &Api,
    who: &Principal,
    r: ResumeTimerRequest,
) -> kit::Result<Timer> {
    let now = Utc::now();
    let calendars = api.calendars.clone();
    let t = api
        .change(who, "ResumeTimer", &r.name, &r.request_id, &r, |t, _| {
            require_state(t, &["paused"], "resume")?;
            let clock = ClockKind::from_db(&t.clock);
            let cal = t.calendar.as_ref().and_then(|c| calendars.get(c));
            let left = Duration::milliseconds(t.remaining_ms.unwrap_or_default());
            let due = domain::resumed_due(clock, now, left, cal.as_ref());
            // Reminders keep their distance to the deadline.
            let shift = due - t.due_time;
            let at: Vec<_> = t
                .reminder_instants()
                .into_iter()
                .map(|x| x + shift)
                .collect();
            t.reminder_at = sqlx::types::Json(at.iter().map(|x| x.timestamp_millis()).collect());
            t.due_time = due;
            t.state = "scheduled".into();
            t.remaining_ms = None;
            t.generation += 1;
            let (p, next_at) = domain::next_point(&at, t.reminders_done as u32, due);
            t.next_point = Some(p.to_db());
            t.next_fire_at = Some(next_at);
            Ok(())
        })
        .await?;
    Ok(t)
}
