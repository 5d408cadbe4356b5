//! Other services' events that move requests on: logistics reports a parcel delivered,
//! refunds reports refunds requested and settled, complaints issues a ruling on a
//! dispute. Each event is applied once (inbox); a duplicate or out-of-order event finds
//! the request in another state and changes nothing.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    complaints::v1::{RulingIssued, RulingOutcome},
    logistics::v1::{ShipmentDelivered, ShipmentLeg},
    refunds::v1::{RefundKind, RefundRequested, RefundSettled},
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
    domain::machine::{Command, Outcome},
    names,
    settings::Settings,
    store,
    transition::{self, By, TransitionError},
};

/// The consumer of the `logistics`, `refunds` and `complaints` streams.
pub struct Consumer {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
}

fn case_id(name: &str) -> Option<Uuid> {
    kit::names::id(names::RETURNS, name)
}

/// The command an event means for a request, if it is about one.
fn command(e: &EventEnvelope) -> anyhow::Result<Option<(Uuid, Command)>> {
    let data = e.data.as_slice();
    Ok(match e.r#type.as_str() {
        "aftersales.logistics.v1.ShipmentDelivered" => {
            let d = ShipmentDelivered::decode(data)?;
            let Some(s) = d.shipment else { return Ok(None) };
            let Some(id) = case_id(&s.case_name) else {
                return Ok(None);
            };
            let at = d
                .delivered_time
                .as_ref()
                .and_then(from_ts)
                .unwrap_or_else(Utc::now);
            let cmd = match ShipmentLeg::try_from(s.leg) {
                Ok(ShipmentLeg::Return) => Command::ReturnDelivered {
                    at,
                    shipment: s.name,
                },
                Ok(ShipmentLeg::Replacement) => Command::ReplacementDelivered {
                    at,
                    shipment: s.name,
                },
                _ => return Ok(None),
            };
            Some((id, cmd))
        }
        "aftersales.refunds.v1.RefundRequested" => {
            let r = RefundRequested::decode(data)?;
            case_id(&r.source_case).map(|id| (id, Command::RefundRequested { refund: r.refund }))
        }
        "aftersales.refunds.v1.RefundSettled" => {
            let r = RefundSettled::decode(data)?;
            let at = r
                .settle_time
                .as_ref()
                .and_then(from_ts)
                .unwrap_or_else(Utc::now);
            case_id(&r.source_case).map(|id| {
                let cmd = Command::RefundSettled {
                    refund: r.refund,
                    goods: r.kind == RefundKind::Goods as i32,
                    amount_minor: r.amount.map_or(0, |m| m.amount_minor),
                    at,
                };
                (id, cmd)
            })
        }
        "aftersales.complaints.v1.RulingIssued" => {
            let r = RulingIssued::decode(data)?;
            let outcome = match r
                .ruling
                .as_ref()
                .map(|x| RulingOutcome::try_from(x.outcome))
            {
                Some(Ok(RulingOutcome::BuyerUpheld)) => Outcome::BuyerUpheld,
                Some(Ok(RulingOutcome::MerchantUpheld)) => Outcome::MerchantUpheld,
                Some(Ok(RulingOutcome::Partial)) => Outcome::Partial,
                // no decision yet: nothing to apply
                _ => return Ok(None),
            };
            let complaint = r.context.map(|c| c.case_name).unwrap_or_default();
            case_id(&r.subject_case).map(|id| (id, Command::Ruling { complaint, outcome }))
        }
        _ => None,
    })
}

impl Consumer {
    /// Consumes until `shutdown`.
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: vec!["logistics".into(), "refunds".into(), "complaints".into()],
            group: "returns".into(),
            consumer: format!("returns-{}", Uuid::new_v4().simple()),
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
        let Some((id, cmd)) = command(&e)? else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &e.id, &e.source).await? {
            return Ok(());
        }
        let Some(before) = store::lock(&mut tx, id).await? else {
            tx.commit().await?;
            return Ok(());
        };
        let policy = transition::policy(&mut tx, &before.merchant_id).await?;
        let action = cmd.action();
        let by = By {
            role: "service",
            id: &e.source,
            reason: &e.r#type,
            request_id: &e.id,
        };
        match transition::apply(
            &mut tx,
            &self.settings,
            &policy,
            &before,
            cmd,
            by,
            Utc::now(),
        )
        .await
        {
            Ok(after) => {
                tracing::info!(case = %after.name(), action, to = after.state.as_str(), "event applied")
            }
            Err(TransitionError::Refused(why)) => {
                tracing::info!(case = %before.name(), action, ?why, "event does not apply now")
            }
            // The database's own error, so that the warning of a pending event names it.
            Err(TransitionError::Db(e)) => return Err(e.into()),
            Err(e) => return Err(kit::Error::from(e).into()),
        }
        tx.commit().await?;
        Ok(())
    }
}
