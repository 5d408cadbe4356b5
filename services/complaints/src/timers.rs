//! TimerCallback: the SLA service reports a clock of a ticket ran out, or reached its
//! reminder. A reminder tells the owner (the desk's queue while nobody owns it); an
//! expiry becomes the clock's step (a breach recorded, or the awaited party's silence).
//! A delivery for a clock the ticket no longer runs (it moved on, or the clock was
//! paused) is acknowledged and ignored.

use std::sync::Arc;

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use chrono::Utc;
use kit::{Error, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    domain::{clocks::ClockKind, kinds::Party, machine::Command, ticket::Ticket},
    effects,
    names::{self, timer_id},
    settings::Settings,
    store,
    transition::{self, By, TransitionError},
};

/// Receives timer deliveries from the SLA service.
pub struct Timers {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
}

/// Whether `timer` ("timers/{id}") is a running (not paused) clock of `t`.
fn is_current(t: &Ticket, kind: ClockKind, timer: &str) -> bool {
    t.clocks.iter().any(|k| {
        k.kind == kind
            && k.remaining_ms.is_none()
            && timer == kit::sla::timer_name(&timer_id(t, k.seq))
    })
}

#[tonic::async_trait]
impl TimerCallback for Timers {
    #[tracing::instrument(skip_all, fields(subject = %req.get_ref().subject, kind = %req.get_ref().kind))]
    async fn on_timer_event(
        &self,
        req: Request<OnTimerEventRequest>,
    ) -> Result<Response<OnTimerEventResponse>, Status> {
        kit::answer(self.on_timer(req.into_inner()).await)
    }
}

impl Timers {
    async fn on_timer(&self, r: OnTimerEventRequest) -> kit::Result<OnTimerEventResponse> {
        if r.delivery_id.is_empty() {
            return Err(Error::invalid("delivery_id", "is required"));
        }
        let Some(kind) = ClockKind::parse(&r.kind) else {
            return Ok(OnTimerEventResponse {});
        };
        let id = names::complaint_id("subject", &r.subject)?;
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla").await? {
            return Ok(OnTimerEventResponse {});
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        };
        if !is_current(&before, kind, &r.timer) {
            tracing::info!("a clock this ticket no longer runs: ignored");
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        }
        if r.event_kind == TimerEventKind::Reminder as i32 {
            let mut out = kit::outbox::Batch::default();
            let template = format!("{}_due_soon", kind.as_str());
            effects::notify(&mut out, &before, Party::Owner, &template);
            out.flush(&mut tx).await?;
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        }
        let by = By {
            role: "service",
            id: "sla",
            reason: kind.as_str(),
            request_id: &r.delivery_id,
        };
        let cmd = Command::Expired { kind };
        match transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await {
            Ok(after) => tracing::info!(to = after.state.as_str(), "clock expired"),
            Err(TransitionError::Refused(why)) => tracing::info!(?why, "expiry no longer applies"),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(OnTimerEventResponse {})
    }
}
