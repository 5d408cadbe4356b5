//! Logistics' events that move repairs on: a parcel of the item's way in delivered to
//! the repair point (the merchant owes the diagnosis), the repaired item delivered to
//! the buyer (the acceptance clock starts). Each event is applied once (the inbox); one
//! about a parcel the repair no longer tracks finds it moved on and changes nothing.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    logistics::v1::{ShipmentDelivered, ShipmentLeg},
};
use chrono::Utc;
use kit::{
    events::{Subscription, consume},
    inbox,
    time::from_ts,
};
use prost::Message;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::machine::{Command, Leg},
    names,
    settings::Settings,
    store,
    transition::{self, By, TransitionError},
};

/// The consumer of the `logistics` stream.
pub struct Consumer {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
}

impl Consumer {
    /// Consumes until `shutdown`.
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: vec!["logistics".into()],
            group: "repairs".into(),
            consumer: format!("repairs-{}", Uuid::new_v4().simple()),
            reclaim_after: std::time::Duration::from_secs(30),
        };
        let this = Arc::new(self);
        consume(redis, sub, shutdown, move |e| {
            let this = this.clone();
            async move { this.handle(e).await }
        })
        .await;
    }

    async fn handle(&self, e: EventEnvelope) -> anyhow::Result<()> {
        if e.r#type != "aftersales.logistics.v1.ShipmentDelivered" {
            return Ok(());
        }
        let d = ShipmentDelivered::decode(e.data.as_slice())?;
        let Some(s) = d.shipment else { return Ok(()) };
        let Some(id) = kit::names::id(names::REPAIRS, &s.case_name) else {
            return Ok(());
        };
        let leg = match ShipmentLeg::try_from(s.leg) {
            Ok(ShipmentLeg::RepairInbound) => Leg::Inbound,
            Ok(ShipmentLeg::RepairOutbound) => Leg::Outbound,
            Ok(ShipmentLeg::SpareOutbound) => Leg::SpareOut,
            Ok(ShipmentLeg::SpareReturn) => Leg::SpareBack,
            _ => return Ok(()),
        };
        let at = d
            .delivered_time
            .as_ref()
            .and_then(from_ts)
            .unwrap_or_else(Utc::now);
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &e.id, &e.source).await? {
            return Ok(());
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(());
        };
        // only the parcel the repair tracks on that leg
        let tracked = match leg {
            Leg::Inbound => &before.inbound,
            Leg::Outbound => &before.outbound,
            Leg::SpareOut => &before.spare,
            Leg::SpareBack => &before.spare_return,
        };
        if !tracked.as_ref().is_some_and(|p| {
            p.carrier.eq_ignore_ascii_case(&s.carrier_code) && p.tracking == s.tracking_number
        }) {
            tx.commit().await?;
            return Ok(());
        }
        let by = By {
            role: "service",
            id: &e.source,
            reason: &e.r#type,
            request_id: &e.id,
        };
        let cmd = Command::Delivered { leg, at };
        match transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await {
            Ok(after) => {
                tracing::info!(repair = %names::name(&after), to = after.state.as_str(), "parcel delivered")
            }
            Err(TransitionError::Refused(why)) => {
                tracing::info!(?why, "delivery does not apply now")
            }
            Err(TransitionError::Db(e)) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }
}
