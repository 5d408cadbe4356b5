//! The gRPC surface of the SLA service: each method of [`SlaService`] takes the caller and
//! the request to a function of its verb family that returns [`kit::Result`], and maps the
//! error to a `Status` once ([`kit::answer`]). The families: [`create`] (new timers),
//! [`timers`] (cancel, reschedule, pause, resume), [`reads`] (gets and lists) and
//! [`operations`] (dead-letter replay, calendars, deadline arithmetic).

mod create;
mod operations;
mod reads;
mod timers;

use std::sync::Arc;

use aftersales_proto::aftersales::sla::v1::{
    BatchScheduleTimersRequest, BatchScheduleTimersResponse, Calendar, CancelTimerRequest,
    ComputeDeadlineRequest, ComputeDeadlineResponse, DeadLetter, GetCalendarRequest,
    GetTimerRequest, ListBreachesRequest, ListBreachesResponse, ListDeadLettersRequest,
    ListDeadLettersResponse, ListTimersRequest, ListTimersResponse, PauseTimerRequest,
    ReplayDeadLetterRequest, RescheduleTimerRequest, ResumeTimerRequest, ScheduleTimerRequest,
    ScheduleTimerResponse, Timer, UpsertCalendarYearRequest, sla_service_server::SlaService,
};
use kit::auth::{Principal, Role, principal};
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

use crate::{
    batcher::{self, Batcher},
    calendars::Calendars,
    domain::{self, Point},
    engine::Engine,
    schedule::{self, Keys},
    store::TimerRow,
    writer::Writer,
};

/// The API's Redis connection, made on first use.
#[derive(Default)]
struct RedisConn {
    manager: Option<ConnectionManager>,
    /// When the last attempt to connect failed.
    failed_at: Option<std::time::Instant>,
}

/// What the API's calls share: Postgres, the engine (for Redis scripts and replays), the
/// group-commit batcher, the writer thread and the calendars.
pub struct Api {
    pool: PgPool,
    engine: Arc<Engine>,
    batcher: Batcher,
    /// Writes BatchScheduleTimers' batches.
    writer: Writer,
    calendars: Calendars,
    redis: redis::Client,
    conn: Arc<Mutex<RedisConn>>,
}

impl Api {
    /// The API over the service's pool, engine, batcher, writer, calendars and Redis.
    pub fn new(
        pool: PgPool,
        engine: Arc<Engine>,
        batcher: Batcher,
        writer: Writer,
        calendars: Calendars,
        redis: redis::Client,
    ) -> Self {
        Self {
            pool,
            engine,
            batcher,
            writer,
            calendars,
            redis,
            conn: Arc::new(Mutex::new(RedisConn::default())),
        }
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
}

/// Whose timers a caller may see and change: a service its own; agents and admins all.
fn owner_scope(who: &Principal) -> Option<String> {
    match who.role {
        Role::Service => Some(who.id.clone()),
        _ => None,
    }
}

#[tonic::async_trait]
impl SlaService for Api {
    async fn schedule_timer(
        &self,
        req: Request<ScheduleTimerRequest>,
    ) -> Result<Response<ScheduleTimerResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(create::schedule_timer(self, &who, req.into_inner()).await)
    }

    async fn batch_schedule_timers(
        &self,
        req: Request<BatchScheduleTimersRequest>,
    ) -> Result<Response<BatchScheduleTimersResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(create::batch_schedule_timers(self, &who, req.into_inner()).await)
    }

    async fn get_timer(&self, req: Request<GetTimerRequest>) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        kit::answer(reads::get_timer(self, &who, req.into_inner()).await)
    }

    async fn list_timers(
        &self,
        req: Request<ListTimersRequest>,
    ) -> Result<Response<ListTimersResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(reads::list_timers(self, &who, req.into_inner()).await)
    }

    async fn cancel_timer(
        &self,
        req: Request<CancelTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        kit::answer(timers::cancel_timer(self, &who, req.into_inner()).await)
    }

    async fn reschedule_timer(
        &self,
        req: Request<RescheduleTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        kit::answer(timers::reschedule_timer(self, &who, req.into_inner()).await)
    }

    async fn pause_timer(
        &self,
        req: Request<PauseTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        kit::answer(timers::pause_timer(self, &who, req.into_inner()).await)
    }

    async fn resume_timer(
        &self,
        req: Request<ResumeTimerRequest>,
    ) -> Result<Response<Timer>, Status> {
        let who = principal(&req)?;
        kit::answer(timers::resume_timer(self, &who, req.into_inner()).await)
    }

    async fn list_dead_letters(
        &self,
        req: Request<ListDeadLettersRequest>,
    ) -> Result<Response<ListDeadLettersResponse>, Status> {
        let who = principal(&req)?;
        kit::answer(reads::list_dead_letters(self, &who, req.into_inner()).await)
    }

    async fn replay_dead_letter(
        &self,
        req: Request<ReplayDeadLetterRequest>,
    ) -> Result<Response<DeadLetter>, Status> {
        let who = principal(&req)?;
        kit::answer(operations::replay_dead_letter(self, &who, req.into_inner()).await)
    }

    async fn list_breaches(
        &self,
        req: Request<ListBreachesRequest>,
    ) -> Result<Response<ListBreachesResponse>, Status> {
        let _who = principal(&req)?;
        kit::answer(reads::list_breaches(self, req.into_inner()).await)
    }

    async fn get_calendar(
        &self,
        req: Request<GetCalendarRequest>,
    ) -> Result<Response<Calendar>, Status> {
        kit::answer(operations::get_calendar(self, req.into_inner()))
    }

    async fn upsert_calendar_year(
        &self,
        req: Request<UpsertCalendarYearRequest>,
    ) -> Result<Response<Calendar>, Status> {
        kit::answer(operations::upsert_calendar_year(self, req.into_inner()).await)
    }

    async fn compute_deadline(
        &self,
        req: Request<ComputeDeadlineRequest>,
    ) -> Result<Response<ComputeDeadlineResponse>, Status> {
        kit::answer(operations::compute_deadline(self, req.into_inner()))
    }
}
