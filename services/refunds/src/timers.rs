//! TimerCallback: the SLA service tells refunds that a settlement clock ran out. An
//! unsettled refund is escalated to an agent (SPEC §4: settle within 1-3 working days).

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use kit::{Error, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    api::refund_id,
    domain::refund::State,
    effects::{self, SETTLEMENT_KIND},
    store,
};

/// Receives timer deliveries from the SLA service.
pub struct Timers {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl TimerCallback for Timers {
    #[tracing::instrument(skip_all, fields(subject = %req.get_ref().subject, delivery = %req.get_ref().delivery_id))]
    async fn on_timer_event(
        &self,
        req: Request<OnTimerEventRequest>,
    ) -> Result<Response<OnTimerEventResponse>, Status> {
        let r = req.into_inner();
        if r.delivery_id.is_empty() {
            return Err(Error::invalid("delivery_id", "is required").into());
        }
        let expired = r.event_kind == TimerEventKind::Expired as i32;
        if r.kind != SETTLEMENT_KIND || !expired {
            // reminders and unknown kinds need nothing from refunds; acknowledge them
            return Ok(Response::new(OnTimerEventResponse {}));
        }
        let id = refund_id(&r.subject)
            .map_err(|_| Error::invalid("subject", "must look like refunds/{uuid}"))?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla")
            .await
            .map_err(Error::from)?
        {
            return Ok(Response::new(OnTimerEventResponse {}));
        }
        let Some(before) = store::lock(&mut tx, id).await.map_err(Error::from)? else {
            // acknowledged: a clock for a refund this schema never had cannot be acted on
            tracing::warn!("settlement clock for an unknown refund");
            tx.commit().await.map_err(Error::from)?;
            return Ok(Response::new(OnTimerEventResponse {}));
        };
        if matches!(before.state(), State::Requested | State::Submitted) {
            let why = "not settled before the settlement deadline";
            let row = store::escalate(&mut tx, id, why)
                .await
                .map_err(Error::from)?;
            store::audit(
                &mut tx,
                id,
                ("service", "sla"),
                Some(before.state()),
                State::Escalated,
                why,
            )
            .await
            .map_err(Error::from)?;
            effects::escalated(&mut tx, &row, why)
                .await
                .map_err(Error::from)?;
            tracing::warn!(refund = %row.name(), "settlement clock ran out: escalated");
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(OnTimerEventResponse {}))
    }
}
