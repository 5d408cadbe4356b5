//! TimerCallback: the SLA service tells refunds that a settlement clock ran out. An
//! unsettled refund is escalated to an agent (SPEC §4: settle within 1-3 working days).

use aftersales_proto::aftersales::sla::v1::{
    OnTimerEventRequest, OnTimerEventResponse, TimerEventKind, timer_callback_server::TimerCallback,
};
use kit::{Error, inbox};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::{
    domain::{clocks::SETTLEMENT_KIND, refund::State},
    effects, names, store,
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
        self.expired(req.into_inner())
            .await
            .map(|()| Response::new(OnTimerEventResponse {}))
            .map_err(Status::from)
    }
}

impl Timers {
    /// Acts on one delivery, once (the inbox); anything but an expired settlement clock
    /// is acknowledged with nothing to do.
    async fn expired(&self, r: OnTimerEventRequest) -> kit::Result<()> {
        if r.delivery_id.is_empty() {
            return Err(Error::invalid("delivery_id", "is required"));
        }
        let expired = r.event_kind == TimerEventKind::Expired as i32;
        if r.kind != SETTLEMENT_KIND || !expired {
            // reminders and unknown kinds need nothing from refunds; acknowledge them
            return Ok(());
        }
        let id = names::refund_id("subject", &r.subject)?;
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &r.delivery_id, "sla").await? {
            return Ok(());
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            // acknowledged: a clock for a refund this schema never had cannot be acted on
            tracing::warn!("settlement clock for an unknown refund");
            tx.commit().await?;
            return Ok(());
        };
        if matches!(before.state(), State::Requested | State::Submitted) {
            let why = "not settled before the settlement deadline";
            let row = store::escalate(&mut tx, id, why).await?;
            let audit = store::Audit {
                actor: ("system", "sla"),
                from: Some(before.state()),
                to: State::Escalated,
                action: "escalate",
                reason: why,
                request_id: "",
            };
            store::audit(&mut tx, id, &audit).await?;
            effects::escalated(&mut tx, &row, why).await?;
            tracing::warn!(refund = %row.name(), "settlement clock ran out: escalated");
        }
        tx.commit().await?;
        Ok(())
    }
}
