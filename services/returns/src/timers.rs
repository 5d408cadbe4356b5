//! TimerCallback: the SLA service reports that a clock of a request ran out (or reached
//! its reminder). An expiry becomes the automatic transition of SPEC §3; an expiry of a
//! clock the request no longer runs (it moved on meanwhile) is acknowledged and ignored,
//! which is what makes a merchant's approval racing the auto-approve timer safe.

use std::sync::Arc;

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use chrono::Utc;
use kit::{Error, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    domain::{
        case::{Case, Party},
        clocks::{self, ClockKind},
    },
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

/// Whether `timer` ("timers/{id}") is the clock `c` runs now.
fn is_current(c: &Case, timer: &str) -> bool {
    c.clock
        .as_ref()
        .is_some_and(|k| timer == kit::sla::timer_name(&timer_id(c, k.seq)))
}

#[tonic::async_trait]
impl TimerCallback for Timers {
    #[tracing::instrument(skip_all, fields(subject = %req.get_ref().subject, kind = %req.get_ref().kind, delivery = %req.get_ref().delivery_id))]
    async fn on_timer_event(
        &self,
        req: Request<OnTimerEventRequest>,
    ) -> Result<Response<OnTimerEventResponse>, Status> {
        kit::answer(self.on_timer(req.into_inner()).await)
    }
}

impl Timers {
    /// One delivery: applied once (inbox), and only to the clock the request runs now.
    async fn on_timer(&self, r: OnTimerEventRequest) -> kit::Result<OnTimerEventResponse> {
        if r.delivery_id.is_empty() {
            return Err(Error::invalid("delivery_id", "is required"));
        }
        let Some(kind) = ClockKind::parse(&r.kind) else {
            return Ok(OnTimerEventResponse {});
        };
        let id = names::return_id("subject", &r.subject)?;
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla").await? {
            return Ok(OnTimerEventResponse {});
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        };
        if !is_current(&before, &r.timer) {
            tracing::info!("expiry of a clock this request no longer runs: ignored");
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        }
        if r.event_kind == TimerEventKind::Reminder as i32 {
            let mut out = kit::outbox::Batch::default();
            effects::notify(&mut out, &before, Party::Buyer, "ship_back_reminder");
            out.flush(&mut tx).await?;
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        }
        let policy = transition::policy(&mut tx, &before.merchant_id).await?;
        let by = By {
            role: "service",
            id: "sla",
            reason: kind.as_str(),
            request_id: &r.delivery_id,
        };
        match transition::apply(
            &mut tx,
            &self.settings,
            &policy,
            &before,
            clocks::on_expiry(kind, &policy),
            by,
            Utc::now(),
        )
        .await
        {
            Ok(after) => tracing::info!(
                from = before.state.as_str(),
                to = after.state.as_str(),
                "clock expired"
            ),
            Err(TransitionError::Refused(why)) => tracing::info!(?why, "expiry no longer applies"),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(OnTimerEventResponse {})
    }
}
