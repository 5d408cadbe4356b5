//! Other services' events that move requests on: logistics reports a parcel delivered,
//! scanned, in trouble or returned to its sender; refunds reports refunds requested,
//! settled, failed or escalated; complaints issues a ruling on a dispute. Each event is
//! applied once (inbox); a duplicate or out-of-order event finds the request in another
//! state and changes nothing. Of logistics' shipment only the non-personal fields are
//! read (name, case, leg, status, promised and delivered times), never addresses.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    complaints::v1::{RulingIssued, RulingOutcome},
    logistics::v1::{
        Shipment, ShipmentDelivered, ShipmentException, ShipmentLeg, ShipmentStatus,
        ShipmentStatusChanged, TrackingEvent,
    },
    refunds::v1::{RefundEscalated, RefundFailed, RefundKind, RefundRequested, RefundSettled},
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
    domain::{
        case::{ParcelCause, RefundProblemKind},
        machine::{Command, Leg, Outcome},
    },
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

/// The request and leg a shipment travels for, if it is one of ours.
fn shipment_of(s: &Option<Shipment>) -> Option<(Uuid, Leg, &Shipment)> {
    let s = s.as_ref()?;
    let leg = match ShipmentLeg::try_from(s.leg) {
        Ok(ShipmentLeg::Return) => Leg::Return,
        Ok(ShipmentLeg::Replacement) => Leg::Replacement,
        _ => return None,
    };
    Some((case_id(&s.case_name)?, leg, s))
}

/// When the carrier says a tracking event happened (now, if it does not say).
fn event_time(e: &Option<TrackingEvent>) -> chrono::DateTime<Utc> {
    e.as_ref()
        .and_then(|e| e.event_time.as_ref())
        .and_then(from_ts)
        .unwrap_or_else(Utc::now)
}

/// The carrier's description of an event (no personal data: a status text).
fn description(e: &Option<TrackingEvent>) -> String {
    e.as_ref()
        .map(|e| e.description.clone())
        .unwrap_or_default()
}

/// What a refund problem is shown as on the request. Not refunds' text itself: that
/// carries the payment gateway's error, which merchants are not to receive; the
/// platform desk reads it on the refund.
fn problem_reason(kind: RefundProblemKind, why: &str) -> String {
    match kind {
        RefundProblemKind::Failed => "the payment gateway declined the payout".into(),
        RefundProblemKind::Escalated if why.starts_with("payout retries exhausted") => {
            "payout retries exhausted".into()
        }
        RefundProblemKind::Escalated if why.contains("settlement deadline") => {
            "not settled before the settlement deadline".into()
        }
        RefundProblemKind::Escalated => "the refund needs the platform desk".into(),
    }
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
        "aftersales.logistics.v1.ShipmentStatusChanged" => {
            let d = ShipmentStatusChanged::decode(data)?;
            let Some((id, leg, s)) = shipment_of(&d.shipment) else {
                return Ok(None);
            };
            let at = event_time(&d.event);
            let cmd = match ShipmentStatus::try_from(s.status) {
                Ok(ShipmentStatus::ReturnedToSender) => Command::ParcelLost {
                    leg,
                    cause: ParcelCause::ReturnedToSender,
                    detail: description(&d.event),
                    at,
                },
                // the carrier has the parcel: proof of shipment (an exception's own
                // path comes with ShipmentException)
                Ok(
                    ShipmentStatus::PickedUp
                    | ShipmentStatus::InTransit
                    | ShipmentStatus::OutForDelivery
                    | ShipmentStatus::Exception,
                ) => Command::ParcelSeen {
                    leg,
                    shipment: s.name.clone(),
                    promised: s.promised_delivery_time.as_ref().and_then(from_ts),
                    at,
                },
                // delivered comes with ShipmentDelivered; the rest is not the carrier's
                _ => return Ok(None),
            };
            Some((id, cmd))
        }
        "aftersales.logistics.v1.ShipmentException" => {
            let d = ShipmentException::decode(data)?;
            let Some((id, leg, _)) = shipment_of(&d.shipment) else {
                return Ok(None);
            };
            let cmd = Command::ParcelLost {
                leg,
                cause: ParcelCause::Exception,
                detail: description(&d.event),
                at: event_time(&d.event),
            };
            Some((id, cmd))
        }
        "aftersales.refunds.v1.RefundFailed" => {
            let r = RefundFailed::decode(data)?;
            let kind = RefundProblemKind::Failed;
            case_id(&r.source_case).map(|id| {
                let cmd = Command::RefundProblem {
                    refund: r.refund,
                    kind,
                    reason: problem_reason(kind, &r.error),
                    goods: r.kind == RefundKind::Goods as i32,
                    at: Utc::now(),
                };
                (id, cmd)
            })
        }
        "aftersales.refunds.v1.RefundEscalated" => {
            let r = RefundEscalated::decode(data)?;
            let kind = RefundProblemKind::Escalated;
            case_id(&r.source_case).map(|id| {
                let cmd = Command::RefundProblem {
                    refund: r.refund,
                    kind,
                    reason: problem_reason(kind, &r.reason),
                    goods: r.kind == RefundKind::Goods as i32,
                    at: Utc::now(),
                };
                (id, cmd)
            })
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
            // the address and carriers are the merchant's policy's, filled in `handle`
            let cmd = Command::Ruling {
                complaint,
                outcome,
                address: None,
                carriers: Vec::new(),
            };
            case_id(&r.subject_case).map(|id| (id, cmd))
        }
        _ => None,
    })
}

/// The parcel (leg, tracking number) a logistics event reports on, if it is one.
fn parcel_of(e: &EventEnvelope) -> anyhow::Result<Option<(Leg, String)>> {
    let data = e.data.as_slice();
    let shipment = match e.r#type.as_str() {
        "aftersales.logistics.v1.ShipmentDelivered" => ShipmentDelivered::decode(data)?.shipment,
        "aftersales.logistics.v1.ShipmentStatusChanged" => {
            ShipmentStatusChanged::decode(data)?.shipment
        }
        "aftersales.logistics.v1.ShipmentException" => ShipmentException::decode(data)?.shipment,
        _ => return Ok(None),
    };
    Ok(shipment_of(&shipment).map(|(_, leg, s)| (leg, s.tracking_number.clone())))
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
        let Some((id, mut cmd)) = command(&e)? else {
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
        // A parcel shipped again (the carrier brought the first back) travels on the same
        // leg: a late report about the first one must not move the second.
        if let Some((leg, tracking)) = parcel_of(&e)?
            && before
                .parcel(leg)
                .is_some_and(|p| !p.tracking_number.eq_ignore_ascii_case(&tracking))
        {
            tracing::info!(case = %before.name(), %tracking, "report on a parcel the request no longer tracks: ignored");
            tx.commit().await?;
            return Ok(());
        }
        let policy = transition::policy(&mut tx, &before.merchant_id).await?;
        if let Command::Ruling {
            address, carriers, ..
        } = &mut cmd
        {
            *address = policy.return_address.clone();
            *carriers = policy.carrier_options.clone();
        }
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

#[cfg(test)]
mod tests {
    use aftersales_proto::aftersales::logistics::v1::CarrierEventStatus;

    use super::*;

    fn envelope(data: &impl Message, ty: &str) -> EventEnvelope {
        EventEnvelope {
            id: "e1".into(),
            r#type: ty.into(),
            data: data.encode_to_vec(),
            ..Default::default()
        }
    }

    fn shipment(status: ShipmentStatus) -> Option<Shipment> {
        Some(Shipment {
            name: "shipments/1".into(),
            case_name: format!("returns/{}", Uuid::nil()),
            leg: ShipmentLeg::Replacement as i32,
            status: status as i32,
            ..Default::default()
        })
    }

    fn changed(status: ShipmentStatus) -> Option<Command> {
        let ev = ShipmentStatusChanged {
            shipment: shipment(status),
            event: Some(TrackingEvent {
                status: CarrierEventStatus::ReturnedToSender as i32,
                description: "refused by the recipient".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = envelope(&ev, "aftersales.logistics.v1.ShipmentStatusChanged");
        command(&e).unwrap().map(|(_, c)| c)
    }

    #[test]
    fn a_carrier_report_names_its_parcel_by_leg_and_tracking_number() {
        let mut s = shipment(ShipmentStatus::InTransit);
        s.as_mut().unwrap().tracking_number = "SF1".into();
        let ev = ShipmentStatusChanged {
            shipment: s,
            ..Default::default()
        };
        let e = envelope(&ev, "aftersales.logistics.v1.ShipmentStatusChanged");
        assert_eq!(
            parcel_of(&e).unwrap(),
            Some((Leg::Replacement, "SF1".to_string()))
        );
        let other = envelope(
            &RefundSettled::default(),
            "aftersales.refunds.v1.RefundSettled",
        );
        assert_eq!(parcel_of(&other).unwrap(), None);
    }

    #[test]
    fn carrier_reports_become_scans_losses_or_nothing() {
        assert!(matches!(
            changed(ShipmentStatus::PickedUp),
            Some(Command::ParcelSeen {
                leg: Leg::Replacement,
                ..
            })
        ));
        assert!(matches!(
            changed(ShipmentStatus::ReturnedToSender),
            Some(Command::ParcelLost {
                cause: ParcelCause::ReturnedToSender,
                ref detail,
                ..
            }) if detail == "refused by the recipient"
        ));
        assert!(
            changed(ShipmentStatus::Delivered).is_none(),
            "ShipmentDelivered moves it"
        );
        let lost = ShipmentException {
            shipment: shipment(ShipmentStatus::Exception),
            event: None,
        };
        let e = envelope(&lost, "aftersales.logistics.v1.ShipmentException");
        assert!(matches!(
            command(&e).unwrap(),
            Some((
                _,
                Command::ParcelLost {
                    cause: ParcelCause::Exception,
                    ..
                }
            ))
        ));
    }

    #[test]
    fn a_refund_problem_is_shown_without_the_gateways_words() {
        let failed = problem_reason(RefundProblemKind::Failed, "DECLINED: card 6222 closed");
        assert_eq!(failed, "the payment gateway declined the payout");
        let retries = problem_reason(
            RefundProblemKind::Escalated,
            "payout retries exhausted: TIMEOUT",
        );
        assert_eq!(retries, "payout retries exhausted");
        let late = problem_reason(
            RefundProblemKind::Escalated,
            "not settled before the settlement deadline",
        );
        assert_eq!(late, "not settled before the settlement deadline");
    }
}
