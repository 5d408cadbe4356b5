//! TimerCallback: the SLA service reports a survey's window ran out; an open survey
//! expires (an answered one stays answered). Each delivery is applied once (the inbox).

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use kit::{Error, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{names, store};

/// Receives timer deliveries from the SLA service.
pub struct Timers {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl TimerCallback for Timers {
    #[tracing::instrument(skip_all, fields(subject = %req.get_ref().subject))]
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
        if r.kind != names::WINDOW || r.event_kind == TimerEventKind::Reminder as i32 {
            return Ok(OnTimerEventResponse {});
        }
        let id = names::survey_id("subject", &r.subject)?;
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla").await? {
            return Ok(OnTimerEventResponse {});
        }
        if let Some(mut s) = store::lock(&mut tx, id).await?
            && s.expire()
        {
            store::update(&mut tx, &s).await?;
            tracing::info!("survey expired unanswered");
        }
        tx.commit().await?;
        Ok(OnTimerEventResponse {})
    }
}
