//! The gRPC surface of the SLA service: authorise, parse (collecting every bad field),
//! apply the domain rules, persist, and keep the Redis schedule in step with Postgres.

use std::sync::Arc;

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, BatchScheduleTimersResponse, Calendar, CalendarYear,
    CancelTimerRequest, ComputeDeadlineRequest, ComputeDeadlineResponse, DeadLetter,
    GetCalendarRequest, GetTimerRequest, ListBreachesRequest, ListBreachesResponse,
    ListDeadLettersRequest, ListDeadLettersResponse, ListTimersRequest, ListTimersResponse,
    PauseTimerRequest, ReplayDeadLetterRequest, RescheduleTimerRequest, ResumeTimerRequest,
    ScheduleTimerRequest, ScheduleTimerResponse, Timer, UpsertCalendarYearRequest,
    sla_service_server::{SlaService, SlaServiceServer},
};
use chrono::{Duration, SubsecRound, Utc};
use kit::{
    App, Ctx, Error,
    auth::{Policy, Principal, Role, principal},
    error::Violations,
    idempotency::{self, Claim},
    outbox::Batch,
};
use prost::Message;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tokio::sync::Mutex;
use tonic::{Request, Response, Status, service::Routes};
use uuid::Uuid;

use crate::{
    batcher::{self, Batcher, MAX_GROUP},
    calendars::Calendars,
    convert,
    domain::{self, ClockKind, Point},
    engine::{Engine, Settings},
    events,
    schedule::{self, Keys},
    store::{self, Scheduled, TimerRow},
    writer::Writer,
};

const SERVICE: &str = "aftersales.sla.v1.SlaService";

/// The API's Redis connection, made on first use.
#[derive(Default)]
struct RedisConn {
    manager: Option<ConnectionManager>,
    /// When the last attempt to connect failed.
    failed_at: Option<std::time::Instant>,
}

/// Builds the service: API, engine and batcher tasks.
pub fn app(ctx: Ctx) -> anyhow::Result<App> {
    let env = ctx.cfg.env();
    let settings = Settings {
        max_attempts: env.parse_or("SLA_MAX_ATTEMPTS", 8u32)?,
        straggler_grace_ms: env
            .duration_or("SLA_STRAGGLER_GRACE", std::time::Duration::from_secs(2))?
            .as_millis() as i64,
        lease_ms: env
            .duration_or("SLA_LEASE", std::time::Duration::from_secs(30))?
            .as_millis() as i64,
    };
    if settings.max_attempts == 0 {
        anyhow::bail!("environment variable SLA_MAX_ATTEMPTS must be at least 1");
    }
    let pool = ctx.pool();
    let calendars = Calendars::default();
    let keys = Keys::new(&ctx.cfg.redis_prefix);
    let engine = Engine::new(
        pool.clone(),
        ctx.redis.clone(),
        keys,
        ctx.peers.clone(),
        calendars.clone(),
        settings,
    );
    // Group commits in flight at once (`SLA_COMMITTERS`). One by default: the calls that
    // arrive while a group commits form the next group, and on 2 cores fewer, larger
    // groups schedule ~40% more timers per second than 4 concurrent ones (make bench-sla).
    let committers = env.parse_or("SLA_COMMITTERS", 1usize)?;
    // The writer thread's connections (`SLA_WRITER_CONNECTIONS`), beside the pool's: the
    // group commits' and those of concurrent BatchScheduleTimers calls.
    let writer_connections = env.parse_or("SLA_WRITER_CONNECTIONS", 4u32)?;
    let writer = Writer::start(&ctx.cfg, writer_connections.max(committers as u32 + 1))?;
    let (batcher, batcher_task) = Batcher::new(
        writer.clone(),
        engine.clone(),
        ctx.redis.clone(),
        committers,
        ctx.shutdown.clone(),
    );
    let api = Api {
        pool,
        engine: engine.clone(),
        batcher,
        writer,
        calendars,
        redis: ctx.redis.clone(),
        conn: Arc::new(Mutex::new(RedisConn::default())),
    };
    let svc = [Role::Service];
    let ops = [Role::Service, Role::Agent];
    let policy = Policy::new()
        .allow(SERVICE, "ScheduleTimer", &svc)
        .allow(SERVICE, "BatchScheduleTimers", &svc)
        .allow(SERVICE, "GetTimer", &ops)
        .allow(SERVICE, "ListTimers", &ops)
        .allow(SERVICE, "CancelTimer", &svc)
        .allow(SERVICE, "RescheduleTimer", &svc)
        .allow(SERVICE, "PauseTimer", &svc)
        .allow(SERVICE, "ResumeTimer", &svc)
        .allow(SERVICE, "ListDeadLetters", &ops)
        .allow(SERVICE, "ReplayDeadLetter", &[Role::Service, Role::Agent])
        .allow(
            SERVICE,
            "ListBreaches",
            &[Role::Service, Role::Agent, Role::Arbitrator],
        )
        .allow(SERVICE, "GetCalendar", Role::ALL)
        .allow(SERVICE, "ComputeDeadline", Role::ALL)
        .allow(SERVICE, "UpsertCalendarYear", &[]);
    let shutdown = ctx.shutdown.clone();
    Ok(App {
        routes: Routes::new(SlaServiceServer::new(api)),
        policy,
        tasks: vec![Box::pin(engine.run(shutdown)), Box::pin(batcher_task)],
    })
}

struct Api {
    pool: PgPool,
    engine: Arc<Engine>,
    batcher: Batcher,
    /// Writes BatchScheduleTimers' batches.
    writer: Writer,
    calendars: Calendars,
    redis: redis::Client,
    conn: Arc<Mutex<RedisConn>>,
}

/// Whose timers a caller may see and change: a service its own; agents and admins all.
fn owner_scope(who: &Principal) -> Option<String> {
    match who.role {
        Role::Service => Some(who.id.clone()),
        _ => None,
    }
}

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

fn parse_name(field: &str, name: &str, prefix: &str) -> Result<String, Error> {
    name.strip_prefix(prefix)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(field, format!("must look like {prefix}{{id}}")))
}

fn timer_id(name: &str) -> Result<Uuid, Error> {
    let raw = parse_name("name", name, "timers/")?;
    Uuid::parse_str(&raw).map_err(|_| Error::invalid("name", "timer id must be a UUID"))
}

/// The keyset token after a full page (the last row's key), or none after a short page.
fn next_token<T>(rows: &[T], limit: i64, key: impl Fn(&T) -> String) -> String {
    match rows.last() {
        Some(last) if rows.len() as i64 == limit => key(last),
        _ => String::new(),
    }
}

/// A listing cursor as a page token: `<due time, Unix microseconds>.<id>` by due time, the
/// bare id by id.
fn cursor_token(c: store::Cursor) -> String {
    match c {
        store::Cursor::Due(due, id) => format!("{}.{id}", due.timestamp_micros()),
        store::Cursor::Id(id) => id.to_string(),
    }
}

/// The cursor of a token made by [`cursor_token`].
fn parse_cursor(token: &str) -> Option<store::Cursor> {
    match token.split_once('.') {
        Some((micros, id)) => Some(store::Cursor::Due(
            chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            Uuid::parse_str(id).ok()?,
        )),
        None => Uuid::parse_str(token).ok().map(store::Cursor::Id),
    }
}

fn page_size(v: &mut Violations, size: i32) -> i64 {
    if size < 0 {
        v.add("page_size", "must not be negative");
    }
    if size == 0 {
        20
    } else {
        size.clamp(1, 100) as i64
    }
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
        convert::labels(v, "labels", &r.labels);
        let reminders = convert::reminders(v, "reminders", &r.reminders);
        let (spec, start) = convert::trigger(v, "trigger", r.trigger.as_ref(), now)?;
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
            reminder_specs: convert::encode_reminders(&r.reminders),
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

    /// The Redis connection for calls' own updates; None while Redis cannot be reached.
    /// After a failed attempt, calls do not try again for [`schedule::CALLER_REDIS_TIMEOUT`]:
    /// they would queue behind each other's attempts, each waiting that long.
    async fn redis(&self) -> Option<ConnectionManager> {
        let mut guard = self.conn.lock().await;
        if guard.manager.is_none()
            && guard
                .failed_at
                .is_none_or(|t| t.elapsed() >= schedule::CALLER_REDIS_TIMEOUT)
        {
            guard.manager = schedule::bounded_connection(self.redis.clone()).await.ok();
            guard.failed_at = guard.manager.is_none().then(std::time::Instant::now);
        }
        guard.manager.clone()
    }

    /// After a Redis call failed: a connection that timed out or broke is dropped, so the
    /// next call opens a fresh one instead of waiting on a silent one again.
    async fn redis_failed(&self, e: &redis::RedisError) {
        if schedule::replace_connection_after(e) {
            self.conn.lock().await.manager = None;
        }
    }

    /// After a committed change: take the old event out of Redis, put the new one in.
    async fn sync(&self, before: &TimerRow, after: &TimerRow) {
        let Some(mut c) = self.redis().await else {
            tracing::warn!(timer = %after.id, "redis unavailable; the reconciler will catch up");
            return;
        };
        if before.state == "scheduled"
            && let Some(p) = before.next_point
        {
            let id = before.id.to_string();
            let member = domain::delivery_id(&id, before.generation, Point::from_db(p));
            if let Err(e) = self
                .engine
                .schedule()
                .remove(&mut c, Keys::shard_of(&id), &member)
                .await
            {
                // Left in Redis, the stale event is recognised by its generation and
                // dropped when it comes due. The new one is still added, on a fresh
                // connection if this one broke.
                tracing::warn!(error = %e, "removing a stale event failed");
                self.redis_failed(&e).await;
                match self.redis().await {
                    Some(fresh) => c = fresh,
                    None => return,
                }
            }
        }
        if let Err(e) = batcher::add_to_schedule(&self.engine, &mut c, [after]).await {
            tracing::warn!(error = %e, "adding an event failed; the reconciler will catch up");
            self.redis_failed(&e).await;
        }
    }

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
        let id = timer_id(name)?;
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
        let answer = convert::timer(&after);
        if !request_id.is_empty() {
            idempotency::complete(&mut tx, &caller, method, request_id, &answer).await?;
        }
        tx.commit().await?;
        self.sync(&before, &after).await;
        Ok(answer)
    }
}

/// The answer to one scheduled timer.
fn answer(s: Scheduled) -> Result<ScheduleTimerResponse, Error> {
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
        timer: Some(convert::into_timer(timer)),
        created,
    })
}

fn require_state(t: &TimerRow, allowed: &[&str], action: &str) -> Result<(), Error> {
    if allowed.contains(&t.state.as_str()) {
        Ok(())
    } else {
        Err(Error::illegal_state(
            convert::timer_name(t.id),
            &t.state,
            action,
        ))
    }
}

#[tonic::async_trait]
impl SlaService for Api {
    async fn schedule_timer(
        &self,
        req: Request<ScheduleTimerRequest>,
    ) -> Result<Response<ScheduleTimerResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let row = self.new_row(&who.id, r, &mut v);
        v.finish()?;
        let row = row.ok_or_else(|| Error::invalid("trigger", "is invalid"))?;
        let scheduled = self.batcher.submit(row).await.map_err(Error::Unavailable)?;
        Ok(Response::new(answer(scheduled)?))
    }

    async fn batch_schedule_timers(
        &self,
        req: Request<BatchScheduleTimersRequest>,
    ) -> Result<Response<BatchScheduleTimersResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
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
                let row = self.new_row(&who.id, req, &mut item);
                if !item.is_empty() {
                    v.absorb(&format!("requests[{i}]"), item);
                }
                row
            })
            .collect();
        v.finish()?;
        let rows: Vec<TimerRow> = rows.into_iter().flatten().collect();
        // One statement, one commit for the whole batch: all or nothing.
        let results = self
            .writer
            .run(|pool| async move {
                store::insert_batch(&mut *pool.acquire().await?, rows, true).await
            })
            .await
            .map_err(Error::from)?;
        // All or none: a taken id wrote nothing, so the whole call is refused.
        if let Some(&Scheduled::IdTaken(id)) =
            results.iter().find(|s| matches!(s, Scheduled::IdTaken(_)))
        {
            answer(Scheduled::IdTaken(id))?;
        }
        // Into Redis as the group commits' timers go: after the answer, with others.
        self.batcher
            .add_created(results.iter().filter_map(Scheduled::created));
        Ok(Response::new(BatchScheduleTimersResponse {
            results: results.into_iter().map(answer).collect::<Result<_, _>>()?,
        }))
    }

    async fn get_timer(&self, req: Request<GetTimerRequest>) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        let name = req.into_inner().name;
        let id = timer_id(&name)?;
        let row = store::get(&self.pool, id)
            .await
            .map_err(Error::from)?
            .filter(|t| owner_scope(&who).is_none_or(|o| o == t.owner))
            .ok_or(Error::NotFound {
                resource: "timer",
                name,
            })?;
        Ok(Response::new(convert::timer(&row)))
    }

    async fn list_timers(
        &self,
        req: Request<ListTimersRequest>,
    ) -> Result<Response<ListTimersResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let limit = page_size(&mut v, r.page_size);
        let mut states = Vec::new();
        for (i, s) in r.states.iter().enumerate() {
            match convert::state_name(*s) {
                Some(n) => states.push(n.to_string()),
                None => v.add(format!("states[{i}]"), "unknown state"),
            }
        }
        let owner = match owner_scope(&who) {
            Some(own) => {
                if !r.owner.is_empty() && r.owner != own {
                    v.add("owner", "a service lists only its own timers");
                }
                Some(own)
            }
            None => (!r.owner.is_empty()).then_some(r.owner.clone()),
        };
        let mut filter = store::TimerFilter {
            owner,
            subject: (!r.subject.is_empty()).then_some(r.subject),
            kind: (!r.kind.is_empty()).then_some(r.kind),
            states,
            after: None,
            limit,
        };
        if !r.page_token.is_empty() {
            filter.after = v.check(
                "page_token",
                parse_cursor(&r.page_token)
                    .filter(|c| filter.orders_by(c))
                    .ok_or("is not a token from this list"),
            );
        }
        v.finish()?;
        let rows = store::list(&self.pool, &filter)
            .await
            .map_err(Error::from)?;
        let next_page_token = next_token(&rows, limit, |r| cursor_token(filter.cursor_after(r)));
        Ok(Response::new(ListTimersResponse {
            timers: rows.iter().map(convert::timer).collect(),
            next_page_token,
        }))
    }

    async fn cancel_timer(
        &self,
        req: Request<CancelTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let t = self
            .change(
                &who,
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
        Ok(Response::new(t))
    }

    async fn reschedule_timer(
        &self,
        req: Request<RescheduleTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let now = Utc::now();
        let mut v = Violations::new();
        if r.reason.trim().is_empty() {
            v.add("reason", "is required: an extension must say why");
        }
        let parsed = convert::trigger(&mut v, "trigger", r.trigger.as_ref(), now);
        v.finish()?;
        let (spec, start) = parsed.ok_or_else(|| Error::invalid("trigger", "is invalid"))?;
        let cal_name = match &spec {
            domain::Spec::WorkingDays { calendar, .. } => Some(calendar.clone()),
            _ => None,
        };
        let cal = cal_name.as_ref().and_then(|n| self.calendars.get(n));
        if cal_name.is_some() && cal.is_none() {
            return Err(Error::invalid("trigger.working_days.calendar", "unknown calendar").into());
        }
        let trigger_bytes = r
            .trigger
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default();
        let t = self
            .change(
                &who,
                "RescheduleTimer",
                &r.name,
                &r.request_id,
                &r,
                |t, _| {
                    require_state(t, &["scheduled", "paused"], "reschedule")?;
                    let (due, _) = spec.due(start, cal.as_ref());
                    let specs: Vec<_> = {
                        let mut scratch = Violations::new();
                        convert::reminders(
                            &mut scratch,
                            "reminders",
                            &convert::decode_reminders(&t.reminder_specs),
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
                        t.remaining_ms = Some(
                            domain::remaining(clock, now, due, cal.as_ref()).num_milliseconds(),
                        );
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
        Ok(Response::new(t))
    }

    async fn pause_timer(
        &self,
        req: Request<PauseTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let now = Utc::now();
        let calendars = self.calendars.clone();
        let t = self
            .change(&who, "PauseTimer", &r.name, &r.request_id, &r, |t, _| {
                require_state(t, &["scheduled"], "pause")?;
                let clock = ClockKind::from_db(&t.clock);
                let cal = t.calendar.as_ref().and_then(|c| calendars.get(c));
                t.remaining_ms = Some(
                    domain::remaining(clock, now, t.due_time, cal.as_ref()).num_milliseconds(),
                );
                t.state = "paused".into();
                t.next_point = None;
                t.next_fire_at = None;
                Ok(())
            })
            .await?;
        Ok(Response::new(t))
    }

    async fn resume_timer(
        &self,
        req: Request<ResumeTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let now = Utc::now();
        let calendars = self.calendars.clone();
        let t = self
            .change(&who, "ResumeTimer", &r.name, &r.request_id, &r, |t, _| {
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
                t.reminder_at =
                    sqlx::types::Json(at.iter().map(|x| x.timestamp_millis()).collect());
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
        Ok(Response::new(t))
    }

    async fn list_dead_letters(
        &self,
        req: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let limit = page_size(&mut v, r.page_size);
        let after = if r.page_token.is_empty() {
            0
        } else {
            v.check("page_token", r.page_token.parse::<i64>())
                .unwrap_or(0)
        };
        v.finish()?;
        let owner = owner_scope(&who).or((!r.owner.is_empty()).then_some(r.owner));
        let rows = store::list_dead_letters(&self.pool, owner.as_deref(), after, limit)
            .await
            .map_err(Error::from)?;
        let next_page_token = next_token(&rows, limit, |d| d.id.to_string());
        Ok(Response::new(ListDeadLettersResponse {
            dead_letters: rows.iter().map(convert::dead_letter).collect(),
            next_page_token,
        }))
    }

    async fn replay_dead_letter(
        &self,
        req: Request<ReplayDeadLetterRequest>,
    ) -> Result<Response<DeadLetter>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let raw = parse_name("name", &r.name, "deadLetters/")?;
        let id: i64 = raw
            .parse()
            .map_err(|_| Error::invalid("name", "dead letter id must be a number"))?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let not_found = || Error::NotFound {
            resource: "dead letter",
            name: r.name.clone(),
        };
        let dl = store::lock_dead_letter(&mut tx, id)
            .await
            .map_err(Error::from)?
            .filter(|d| owner_scope(&who).is_none_or(|o| o == d.owner))
            .ok_or_else(not_found)?;
        if dl.replayed_at.is_some() {
            // Replaying twice is answered with the first replay (a retried click).
            return Ok(Response::new(convert::dead_letter(&dl)));
        }
        // An expiry replay changes the timer, so it is locked. A reminder replay only reads
        // it: holding its lock across the owner's call would stall the engine's recording
        // and deadlock an owner that changes the timer from inside its callback.
        let before = if dl.point < 0 {
            store::lock(&mut tx, dl.timer_id).await
        } else {
            store::get(&self.pool, dl.timer_id).await
        }
        .map_err(Error::from)?
        .ok_or_else(not_found)?;
        let not_replayable = |description: &str| Error::FailedPrecondition {
            reason: "DEAD_LETTER_NOT_REPLAYABLE",
            kind: "STATE",
            subject: r.name.clone(),
            description: description.into(),
        };
        if before.generation != dl.generation {
            return Err(not_replayable(
                "the timer was rescheduled or resumed since: its clock has moved on",
            )
            .into());
        }
        if dl.point >= 0 {
            // A reminder: the timer went on to its next event when this one was parked.
            // Worth repeating only while that clock still runs.
            if !["scheduled", "paused"].contains(&before.state.as_str()) {
                return Err(not_replayable(&format!(
                    "the timer is {}: a reminder of it is moot",
                    before.state
                ))
                .into());
            }
            // Delivered now, with the dead letter (only) locked: a second click waits and
            // then answers with this replay instead of delivering again.
            self.engine
                .replay_reminder(
                    &before,
                    Point::from_db(dl.point),
                    &dl.delivery_id,
                    dl.attempts as u32 + 1,
                )
                .await
                .map_err(|e| {
                    Error::Unavailable(format!("the owner did not take the reminder: {e}"))
                })?;
            let dl = store::mark_replayed(&mut tx, id)
                .await
                .map_err(Error::from)?;
            tx.commit().await.map_err(Error::from)?;
            return Ok(Response::new(convert::dead_letter(&dl)));
        }
        if before.state != "dead_letter" {
            return Err(not_replayable(
                "only the expiry of a timer still parked can be replayed; its clock has moved on",
            )
            .into());
        }
        let mut after = before.clone();
        after.state = "scheduled".into();
        after.next_point = Some(-1);
        after.next_fire_at = Some(Utc::now());
        after.attempts = 0;
        after.last_error = None;
        store::update(&mut tx, &after).await.map_err(Error::from)?;
        let dl = store::mark_replayed(&mut tx, id)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        self.sync(&before, &after).await;
        Ok(Response::new(convert::dead_letter(&dl)))
    }

    async fn list_breaches(
        &self,
        req: Request<ListBreachesRequest>,
    ) -> Result<Response<ListBreachesResponse>, Status> {
        let _who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let limit = page_size(&mut v, r.page_size);
        let after = if r.page_token.is_empty() {
            0
        } else {
            v.check("page_token", r.page_token.parse::<i64>())
                .unwrap_or(0)
        };
        let label = if r.label.is_empty() {
            None
        } else {
            match r.label.split_once('=') {
                Some((k, val)) if !k.is_empty() => Some((k.to_string(), val.to_string())),
                _ => {
                    v.add("label", "must look like key=value");
                    None
                }
            }
        };
        v.finish()?;
        let filter = store::BreachFilter {
            owner: (!r.owner.is_empty()).then_some(r.owner),
            kind: (!r.kind.is_empty()).then_some(r.kind),
            from: r.start_time.as_ref().and_then(convert::from_ts),
            to: r.end_time.as_ref().and_then(convert::from_ts),
            label,
            after,
            limit,
        };
        let (rows, total) = store::list_breaches(&self.pool, &filter)
            .await
            .map_err(Error::from)?;
        let next_page_token = next_token(&rows, limit, |b| b.id.to_string());
        Ok(Response::new(ListBreachesResponse {
            breaches: rows.iter().map(convert::breach).collect(),
            next_page_token,
            total_size: total as u32,
        }))
    }

    async fn get_calendar(
        &self,
        req: Request<GetCalendarRequest>,
    ) -> Result<Response<Calendar>, Status> {
        let r = req.into_inner();
        let name = parse_name("name", &r.name, "calendars/")?;
        let cal = self.calendars.get(&name).ok_or(Error::NotFound {
            resource: "calendar",
            name: r.name.clone(),
        })?;
        let years = cal
            .years()
            .into_iter()
            .filter(|y| r.year == 0 || *y == r.year as i32)
            .filter_map(|y| cal.schedule(y))
            .map(|s| CalendarYear {
                year: s.year as u32,
                holidays: s.holidays.iter().map(|h| h.date.to_string()).collect(),
                makeup_working_days: s
                    .makeup_working_days
                    .iter()
                    .map(|d| d.to_string())
                    .collect(),
                update_time: None,
            })
            .collect();
        Ok(Response::new(Calendar {
            name: r.name,
            time_zone: cal.zone().to_string(),
            years,
        }))
    }

    async fn upsert_calendar_year(
        &self,
        req: Request<UpsertCalendarYearRequest>,
    ) -> Result<Response<Calendar>, Status> {
        let r = req.into_inner();
        let name = parse_name("calendar", &r.calendar, "calendars/")?;
        let year = r
            .year
            .clone()
            .ok_or_else(|| Error::invalid("year", "is required"))?;
        if !(2000..=2100).contains(&year.year) {
            return Err(Error::invalid("year.year", "must be between 2000 and 2100").into());
        }
        self.calendars
            .apply_year(
                &name,
                year.year as i32,
                &year.holidays,
                &year.makeup_working_days,
            )
            .map_err(|e| match e {
                crate::calendars::YearError::UnknownCalendar(_) => Error::NotFound {
                    resource: "calendar",
                    name: r.calendar.clone(),
                },
                crate::calendars::YearError::Invalid { field, message } => {
                    Error::invalid(field, message)
                }
            })?;
        let holidays: Vec<(String, String)> = year
            .holidays
            .iter()
            .map(|d| (d.clone(), "holiday".into()))
            .collect();
        store::upsert_calendar_year(
            &self.pool,
            &name,
            year.year as i32,
            &holidays,
            &year.makeup_working_days,
        )
        .await
        .map_err(Error::from)?;
        self.get_calendar(Request::new(GetCalendarRequest {
            name: r.calendar,
            year: year.year,
        }))
        .await
    }

    async fn compute_deadline(
        &self,
        req: Request<ComputeDeadlineRequest>,
    ) -> Result<Response<ComputeDeadlineResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        let start = match r.start_time.as_ref().map(convert::from_ts) {
            None => Utc::now(),
            Some(Some(t)) => t,
            Some(None) => {
                v.add("start_time", "is not a valid timestamp");
                Utc::now()
            }
        };
        let wd = r.working_days.clone().unwrap_or_default();
        if wd.days == 0 || wd.days > 2000 {
            v.add("working_days.days", "must be between 1 and 2000");
        }
        v.finish()?;
        let cal_name = if wd.calendar.is_empty() {
            crate::calendars::DEFAULT.to_string()
        } else {
            wd.calendar
        };
        let result = self
            .calendars
            .with(&cal_name, |c| c.add_working_days(start, wd.days))
            .ok_or_else(|| Error::invalid("working_days.calendar", "unknown calendar"))?;
        Ok(Response::new(ComputeDeadlineResponse {
            due_time: Some(convert::ts(result.value)),
            fell_back_to_weekends: !result.fallback_years.is_empty(),
        }))
    }
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
