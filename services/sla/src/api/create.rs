//! New timers: ScheduleTimer (through the group-commit batcher) and BatchScheduleTimers
//! (one all-or-nothing statement on the writer thread), and the row each request becomes.

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, BatchScheduleTimersResponse, ScheduleTimerRequest,
    ScheduleTimerResponse,
};
use chrono::{SubsecRound, Utc};
use kit::{Error, auth::Principal, error::Violations, idempotency};
use prost::Message;
use uuid::Uuid;

use super::Api;
use crate::{
    batcher::MAX_GROUP,
    domain, parse, render,
    store::{self, Scheduled, TimerRow},
};

/// The id of a timer scheduled without an explicit one: derived from the request id when
/// there is one, so that a retry names the same timer and the primary key makes it
/// idempotent (no separate request-id index to maintain on every insert); else a UUIDv7.
fn timer_id_for(owner: &str, request_id: &str) -> Uuid {
    if request_id.is_empty() {
        new_timer_id()
    } else {
        uuid_v5(
            &Uuid::NAMESPACE_OID,
            &["aftersales.sla/", owner, "/", request_id],
        )
    }
}

/// `Uuid::new_v5(namespace, parts.concat())`, hashed by the `sha1` crate, which uses the
/// CPU's SHA instructions where it has them: uuid's own SHA-1 (`sha1_smol`, portable) was
/// 6% of the service's CPU under BatchScheduleTimers.
fn uuid_v5(namespace: &Uuid, parts: &[&str]) -> Uuid {
    use sha1::Digest;
    let mut hash = sha1::Sha1::new();
    hash.update(namespace.as_bytes());
    for part in parts {
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// A time-ordered (v7) UUID. Built from the clock and the thread-local RNG: `Uuid::now_v7`
/// asks the kernel for randomness on every call, which showed in scheduling profiles.
fn new_timer_id() -> Uuid {
    let ms = Utc::now().timestamp_millis() as u64;
    uuid::Builder::from_unix_timestamp_millis(ms, &rand::random::<[u8; 10]>()).into_uuid()
}

impl Api {
    /// Validates a schedule request and computes the row of its new timer, or None with
    /// its bad fields in `v` (named from the request's top; a batch puts each item's under
    /// its own path, and only a bad item pays for formatting one).
    fn new_row(
        &self,
        owner: &str,
        r: ScheduleTimerRequest,
        v: &mut Violations,
    ) -> Option<TimerRow> {
        // Microseconds, as Postgres stores them: the answer to a new timer then equals
        // what a later read (or a retry's answer) shows.
        let now = Utc::now().trunc_subsecs(6);
        for (name, value) in [("subject", &r.subject), ("kind", &r.kind)] {
            if value.is_empty() || value.len() > 200 {
                v.add(name, "is required, at most 200 characters");
            }
        }
        let id = if r.timer_id.is_empty() {
            Some(timer_id_for(owner, &r.request_id))
        } else {
            v.check(
                "timer_id",
                Uuid::parse_str(&r.timer_id).map_err(|_| "must be a UUID"),
            )
        };
        if !r.request_id.is_empty() {
            v.check("request_id", idempotency::parse_request_id(&r.request_id));
        }
        if r.payload.len() > 64 * 1024 {
            v.add("payload", "at most 64 KiB");
        }
        parse::labels(v, "labels", &r.labels);
        let reminders = parse::reminders(v, "reminders", &r.reminders);
        let (spec, start) = parse::trigger(v, "trigger", r.trigger.as_ref(), now)?;
        let cal_name = match &spec {
            domain::Spec::WorkingDays { calendar, .. } => Some(calendar.clone()),
            _ => None,
        };
        let cal = cal_name.as_ref().and_then(|n| self.calendars.get(n));
        if cal_name.is_some() && cal.is_none() {
            v.add("trigger.working_days.calendar", "unknown calendar");
            return None;
        }
        let start = start.trunc_subsecs(6);
        let (due, fallback) = spec.due(start, cal.as_ref());
        let due = due.trunc_subsecs(6);
        if !fallback.is_empty() {
            metrics::counter!("sla_calendar_fallback_total").increment(1);
            tracing::warn!(years = ?fallback, "no calendar data: weekends only assumed");
        }
        let reminder_at = domain::reminder_instants(start, due, &reminders);
        let done = domain::mask_past(&reminder_at, now);
        let (point, at) = domain::next_point(&reminder_at, done, due);
        Some(TimerRow {
            id: id?,
            owner: owner.to_string(),
            subject: r.subject,
            kind: r.kind,
            request_id: (!r.request_id.is_empty()).then_some(r.request_id),
            state: "scheduled".into(),
            trigger: r
                .trigger
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default(),
            reminder_specs: render::encode_reminders(&r.reminders),
            reminder_at: sqlx::types::Json(
                reminder_at.iter().map(|t| t.timestamp_millis()).collect(),
            ),
            reminders_done: done as i32,
            start_time: start,
            due_time: due,
            clock: spec.clock().as_str().into(),
            calendar: cal_name,
            remaining_ms: None,
            payload: r.payload,
            labels: sqlx::types::Json(r.labels),
            generation: 0,
            next_point: Some(point.to_db()),
            next_fire_at: Some(at),
            attempts: 0,
            last_error: None,
            fired_time: None,
            reschedule_count: 0,
            created_at: now,
            updated_at: now,
        })
    }
}

/// The answer to one scheduled timer.
fn scheduled(s: Scheduled) -> Result<ScheduleTimerResponse, Error> {
    let (timer, created) = match s {
        Scheduled::Created(t) => (t, true),
        Scheduled::Existing(t) => (t, false),
        Scheduled::IdTaken(id) => {
            return Err(Error::AlreadyExists(format!(
                "timers/{id} exists and belongs to another owner: choose another timer_id"
            )));
        }
    };
    Ok(ScheduleTimerResponse {
        timer: Some(render::into_timer(timer)),
        created,
    })
}

/// ScheduleTimer: one timer, committed with the others arriving meanwhile.
pub(super) async fn schedule_timer(
    api: &Api,
    who: &Principal,
    r: ScheduleTimerRequest,
) -> kit::Result<ScheduleTimerResponse> {
    let mut v = Violations::new();
    let row = api.new_row(&who.id, r, &mut v);
    v.finish()?;
    let row = row.ok_or_else(|| Error::invalid("trigger", "is invalid"))?;
    let outcome = api.batcher.submit(row).await.map_err(Error::Unavailable)?;
    scheduled(outcome)
}

/// BatchScheduleTimers: up to [`MAX_GROUP`] timers, all or none.
pub(super) async fn batch_schedule_timers(
    api: &Api,
    who: &Principal,
    r: BatchScheduleTimersRequest,
) -> kit::Result<BatchScheduleTimersResponse> {
    let mut v = Violations::new();
    if r.requests.is_empty() || r.requests.len() > MAX_GROUP {
        v.add(
            "requests",
            format!("between 1 and {MAX_GROUP} timers per call"),
        );
    }
    let rows: Vec<Option<TimerRow>> = r
        .requests
        .into_iter()
        .enumerate()
        .map(|(i, req)| {
            let mut item = Violations::new();
            let row = api.new_row(&who.id, req, &mut item);
            if !item.is_empty() {
                v.absorb(&format!("requests[{i}]"), item);
            }
            row
        })
        .collect();
    v.finish()?;
    let rows: Vec<TimerRow> = rows.into_iter().flatten().collect();
    // One statement, one commit for the whole batch: all or nothing.
    let results =
        api.writer
            .run(|pool| async move {
                store::insert_batch(&mut *pool.acquire().await?, rows, true).await
            })
            .await?;
    // All or none: a taken id wrote nothing, so the whole call is refused.
    if let Some(&Scheduled::IdTaken(id)) =
        results.iter().find(|s| matches!(s, Scheduled::IdTaken(_)))
    {
        scheduled(Scheduled::IdTaken(id))?;
    }
    // Into Redis as the group commits' timers go: after the answer, with others.
    api.batcher
        .add_created(results.iter().filter_map(Scheduled::created));
    Ok(BatchScheduleTimersResponse {
        results: results
            .into_iter()
            .map(scheduled)
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Uuid, timer_id_for, uuid_v5};

    /// The ids derived from request ids must not change: a retry after an upgrade names
    /// the timer its first call created.
    #[test]
    fn derived_ids_are_the_uuid_v5_of_owner_and_request_id() {
        let long = "r".repeat(300); // several SHA-1 blocks
        for (owner, request_id) in [
            ("returns", "rma/123/merchant_review"),
            ("refunds", "0000a1b2-0000-0000-0000-000000000007"),
            ("complaints", "投诉/42"),
            ("returns", long.as_str()),
        ] {
            let expected = Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!("aftersales.sla/{owner}/{request_id}").as_bytes(),
            );
            assert_eq!(
                timer_id_for(owner, request_id),
                expected,
                "{owner} {request_id}"
            );
        }
        // A fixed value (Python's uuid.uuid5), so that a change of both sides would show.
        assert_eq!(
            timer_id_for("returns", "rma/1").to_string(),
            "8779b1b6-ef8d-5381-a509-acae109c26e6"
        );
        assert_eq!(uuid_v5(&Uuid::NAMESPACE_OID, &[]).get_version_num(), 5);
    }
}
