//! TimerCallback: the SLA service reports a clock of a repair ran out. The expiry
//! becomes the clock's step (a breach on the merchant, a lapsed quote, an automatic
//! acceptance). A delivery for a clock the repair no longer runs (it moved on) is
//! acknowledged and ignored; each delivery is applied once (the inbox).

use std::sync::Arc;

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use chrono::Utc;
use kit::{Error, client::Peers, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    charges,
    domain::{clocks::ClockKind, machine::Command, repair::Repair},
    names::{self, timer_id},
    settings::Settings,
    store,
    transition::{self, By, TransitionError},
};

/// Receives timer deliveries from the SLA service.
pub struct Timers {
    pub pool: PgPool,
    pub peers: Peers,
    pub settings: Arc<Settings>,
}

/// Whether `timer` ("timers/{id}") is a running clock of `r` of `kind`.
fn is_current(r: &Repair, kind: ClockKind, timer: &str) -> bool {
    r.clocks
        .iter()
        .any(|k| k.kind == kind && timer == kit::sla::timer_name(&timer_id(r, k.seq)))
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
        // repairs schedules no reminders; a clock kind it does not know is not its own
        let Some(kind) = ClockKind::parse(&r.kind) else {
            return Ok(OnTimerEventResponse {});
        };
        if r.event_kind == TimerEventKind::Reminder as i32 {
            return Ok(OnTimerEventResponse {});
        }
        let id = names::repair_id("subject", &r.subject)?;
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla").await? {
            return Ok(OnTimerEventResponse {});
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(OnTimerEventResponse {});
        };
        if !is_current(&before, kind, &r.timer) {
            tracing::info!("a clock this repair no longer runs: ignored");
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
        let after =
            match transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await {
                Ok(after) => after,
                Err(TransitionError::Refused(why)) => {
                    tracing::info!(?why, "expiry no longer applies");
                    tx.commit().await?;
                    return Ok(OnTimerEventResponse {});
                }
                Err(e) => return Err(e.into()),
            };
        tx.commit().await?;
        tracing::info!(to = after.state.as_str(), "clock expired");
        // a charge asked again (the charge clock), or a lapsed quote's inspection fee
        if after.pending_charge().is_some()
            && matches!(kind, ClockKind::Charge | ClockKind::QuoteDecision)
        {
            // asked again under the same id, after the commit and off the callback's
            // path: the SLA service is answered at once
            let (pool, peers, settings) =
                (self.pool.clone(), self.peers.clone(), self.settings.clone());
            tokio::spawn(async move {
                if let Err(e) = charges::settle(&pool, &peers, &settings, &after).await {
                    tracing::warn!(error = %e, "charge ask failed; the charge clock asks again");
                }
            });
        }
        Ok(OnTimerEventResponse {})
    }
}
