//! Other services' events that open or move tickets: returns' `DisputeOpened` opens the
//! dispute's ticket by itself (one per dispute: the inbox and a unique index), refunds'
//! events follow a remedy's refund to its settlement, logistics' a reship's parcel to
//! its delivery. Each event is applied once; a
//! duplicate or out-of-order one finds the ticket moved on and changes nothing.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    logistics::v1::{
        Shipment, ShipmentDelivered, ShipmentException, ShipmentLeg, ShipmentStatus,
        ShipmentStatusChanged,
    },
    refunds::v1::{RefundEscalated, RefundFailed, RefundRequested, RefundSettled},
    returns::v1::{DisputeOpened, dispute_opened::Origin as DisputeOrigin},
};
use chrono::Utc;
use kit::{
    client::Peers,
    events::{Subscription, consume},
    inbox,
    outbox::request_id_for,
};
use prost::Message;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{
        kinds::{Execution, Origin, Priority},
        machine::Command,
        ticket::{Contact, Submission, Ticket},
    },
    intake::{self, Intake},
    names, parse, records,
    settings::Settings,
    store::{self, WriteError},
    transition::{self, By, TransitionError},
};

/// What logistics says of a reship's parcel.
enum Parcel {
    Delivered(Option<chrono::DateTime<Utc>>),
    Exception,
    Returned,
}

/// The consumer of the `returns`, `refunds` and `logistics` streams.
pub struct Consumer {
    pub pool: PgPool,
    pub peers: Peers,
    pub settings: Arc<Settings>,
}

fn complaint_id(name: &str) -> Option<Uuid> {
    kit::names::id(names::COMPLAINTS, name)
}

/// The role name of an event's actor, as submissions record it.
fn role_name(role: i32) -> &'static str {
    use aftersales_proto::aftersales::common::v1::ActorRole;
    match ActorRole::try_from(role) {
        Ok(ActorRole::Buyer) => "buyer",
        Ok(ActorRole::Merchant) => "merchant",
        Ok(ActorRole::Agent) => "agent",
        Ok(ActorRole::Arbitrator) => "arbitrator",
        _ => "service",
    }
}

/// Whether `refund` is one of `t`'s remedies' refunds. One not known yet while a money
/// remedy still waits for its `RefundRequested` (events of one stream can be applied out
/// of order: a failed delivery is retried later, replicas run side by side) is an error,
/// so the event is delivered again rather than lost.
fn known(t: &Ticket, refund: &str) -> anyhow::Result<bool> {
    if t.remedies.iter().any(|r| r.reference == refund) {
        return Ok(true);
    }
    let waiting = t.remedies.iter().any(|r| {
        r.kind.is_money() && r.reference.is_empty() && r.execution == Execution::InProgress
    });
    anyhow::ensure!(!waiting, "{refund} is not yet known on {}: retry", t.name());
    Ok(false)
}

/// The remedy of `t` whose CreateRefund carried `request_id`.
fn remedy_of(t: &Ticket, request_id: &str) -> Option<String> {
    t.remedies
        .iter()
        .find(|r| request_id_for(&format!("{}:remedy:{}", t.name(), r.id)) == request_id)
        .map(|r| r.id.clone())
}

impl Consumer {
    /// Consumes until `shutdown`.
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: vec!["returns".into(), "refunds".into(), "logistics".into()],
            group: "complaints".into(),
            consumer: format!("complaints-{}", Uuid::new_v4().simple()),
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
        let data = e.data.as_slice();
        match e.r#type.as_str() {
            "aftersales.returns.v1.DisputeOpened" => {
                self.dispute(&e, DisputeOpened::decode(data)?).await
            }
            "aftersales.refunds.v1.RefundRequested" => {
                let r = RefundRequested::decode(data)?;
                let request_id = r.request_id.clone();
                self.step(&e, &r.source_case, move |t| {
                    Ok(
                        remedy_of(t, &request_id).map(|remedy| Command::RefundRequested {
                            remedy,
                            refund: r.refund,
                        }),
                    )
                })
                .await
            }
            "aftersales.refunds.v1.RefundSettled" => {
                let r = RefundSettled::decode(data)?;
                self.step(&e, &r.source_case, |t| {
                    known(t, &r.refund)
                        .map(|k| k.then_some(Command::RefundSettled { refund: r.refund }))
                })
                .await
            }
            "aftersales.refunds.v1.RefundFailed" => {
                let r = RefundFailed::decode(data)?;
                self.step(&e, &r.source_case, |t| {
                    known(t, &r.refund)
                        .map(|k| k.then_some(Command::RefundFailed { refund: r.refund }))
                })
                .await
            }
            // retries exhausted or the settlement clock ran out: on the ticket as failed
            // (the owner and the desk are told), retried by an agent on refunds
            "aftersales.refunds.v1.RefundEscalated" => {
                let r = RefundEscalated::decode(data)?;
                self.step(&e, &r.source_case, |t| {
                    known(t, &r.refund)
                        .map(|k| k.then_some(Command::RefundFailed { refund: r.refund }))
                })
                .await
            }
            // a reship's parcel (the ticket's replacement leg)
            "aftersales.logistics.v1.ShipmentDelivered" => {
                let d = ShipmentDelivered::decode(data)?;
                let at = d.delivered_time.as_ref().and_then(kit::time::from_ts);
                self.parcel(&e, d.shipment, Parcel::Delivered(at)).await
            }
            "aftersales.logistics.v1.ShipmentException" => {
                let d = ShipmentException::decode(data)?;
                self.parcel(&e, d.shipment, Parcel::Exception).await
            }
            "aftersales.logistics.v1.ShipmentStatusChanged" => {
                let d = ShipmentStatusChanged::decode(data)?;
                let back = d
                    .shipment
                    .as_ref()
                    .is_some_and(|s| s.status == ShipmentStatus::ReturnedToSender as i32);
                match back {
                    true => self.parcel(&e, d.shipment, Parcel::Returned).await,
                    false => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// What the carrier said of a reship's parcel, if the parcel is a ticket's.
    async fn parcel(
        &self,
        e: &EventEnvelope,
        s: Option<Shipment>,
        what: Parcel,
    ) -> anyhow::Result<()> {
        let Some(s) = s.filter(|s| s.leg == ShipmentLeg::Replacement as i32) else {
            return Ok(());
        };
        let (carrier, tracking) = (s.carrier_code, s.tracking_number);
        self.step(e, &s.case_name, |_| {
            Ok(Some(match what {
                Parcel::Delivered(at) => Command::ParcelDelivered {
                    carrier,
                    tracking,
                    at,
                },
                Parcel::Exception => Command::ParcelException { carrier, tracking },
                Parcel::Returned => Command::ParcelReturned { carrier, tracking },
            }))
        })
        .await
    }

    /// A return's dispute: its ticket, opened by the platform (the parties' facts are
    /// the return's; the merchant's region from the order directory).
    async fn dispute(&self, e: &EventEnvelope, d: DisputeOpened) -> anyhow::Result<()> {
        let Some(ctx) = d.context else { return Ok(()) };
        let order = kit::platform::order(&self.peers, &ctx.order_id).await?;
        let origin = match DisputeOrigin::try_from(d.origin) {
            Ok(DisputeOrigin::Appeal) => Origin::ReturnAppeal,
            Ok(DisputeOrigin::ParcelUntracked) => Origin::ParcelUntracked,
            _ => Origin::InspectionDispute,
        };
        let amount = d.amount.unwrap_or_default();
        let now = Utc::now();
        let raised_by = d.raised_by.unwrap_or_default();
        let platform_records =
            records::attach(&self.peers, &order, Some(&ctx.case_name), now).await;
        let intake = Intake {
            channel: 8,
            priority: Priority::Normal,
            origin,
            subject_case: Some(ctx.case_name.clone()),
            order_id: ctx.order_id,
            order_line_id: ctx.order_line_id,
            buyer_id: ctx.buyer_id,
            merchant_id: ctx.merchant_id,
            category: ctx.category,
            region: ctx.region,
            merchant_region: order.merchant_region,
            carrier: order.carrier_code,
            platform_records,
            problem: format!("dispute over {}: {}", ctx.case_name, d.statement),
            demand: "the platform's ruling on the return".into(),
            contact: Contact::default(),
            claim_minor: amount.amount_minor,
            paid_minor: amount.amount_minor,
            currency: amount.currency,
            first_evidence: Some(Submission {
                role: role_name(raised_by.role).into(),
                actor_id: raised_by.id,
                statement: d.statement,
                evidence: parse::evidence(&d.evidence),
                at: now,
            }),
        };
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &e.id, &e.source).await? {
            return Ok(());
        }
        let (t, out) = intake::prepare(&mut tx, &self.settings, intake, now).await?;
        match intake::write(&mut tx, &t, out, ("service", &e.source), &e.id, None).await {
            Ok(_) => {
                tracing::info!(complaint = %t.name(), number = %t.number, "dispute ticket opened")
            }
            // the dispute already has its ticket (another delivery of it won)
            Err(WriteError::DisputeTaken) => return Ok(()),
            Err(WriteError::Db(e)) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies the command `of` gives for the ticket `case` names, once.
    async fn step(
        &self,
        e: &EventEnvelope,
        case: &str,
        of: impl FnOnce(&Ticket) -> anyhow::Result<Option<Command>>,
    ) -> anyhow::Result<()> {
        let Some(id) = complaint_id(case) else {
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
        // an error rolls back: the inbox forgets the delivery, which comes again
        let Some(cmd) = of(&before)? else {
            tx.commit().await?;
            return Ok(());
        };
        let by = By {
            role: "service",
            id: &e.source,
            reason: &e.r#type,
            request_id: &e.id,
        };
        match transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await {
            Ok(after) => {
                tracing::info!(complaint = %after.name(), to = after.state.as_str(), "event applied")
            }
            Err(TransitionError::Refused(why)) => tracing::info!(?why, "event does not apply now"),
            Err(TransitionError::Db(e)) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }
}
