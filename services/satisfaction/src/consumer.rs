//! The cases' completion events that open surveys, from the `returns`, `repairs` and
//! `complaints` streams (one consumer group, every replica a consumer): a return,
//! exchange or refund-only completed, or closed after the merchant's decision; a repair
//! accepted; a complaint closed. A refund is always part of one of these cases and
//! opens none of its own. Each event is applied once (the inbox), and a case has one
//! survey however often its event comes (the case's UNIQUE row): the survey, its
//! notice, its event and its window's clock are written in the inbox's transaction.

use std::{sync::Arc, time::Duration};

use aftersales_proto::aftersales::{
    common::v1::{CaseContext, EventEnvelope},
    complaints::v1::ComplaintClosed,
    repairs::v1::RepairCompleted,
    returns::v1::{ReturnClosed, ReturnCompleted, ReturnKind, ReturnState},
};
use chrono::{DateTime, SubsecRound, Utc};
use kit::{
    events::{Subscription, consume},
    inbox,
    outbox::Batch,
    time::from_ts,
};
use prost::Message;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::survey::{Finished, ServiceType, Survey},
    effects, names,
    settings::Settings,
    store,
};

/// The consumer of the cases' streams.
pub struct Consumer {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
}

type Ts = Option<prost_types::Timestamp>;

fn at(t: &Ts) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(from_ts)
}

fn finished(
    ctx: Option<CaseContext>,
    service_type: ServiceType,
    (requested, first_response, done): (&Ts, &Ts, &Ts),
) -> Option<Finished> {
    let ctx = ctx?;
    Some(Finished {
        case_name: ctx.case_name,
        service_type,
        buyer_id: ctx.buyer_id,
        merchant_id: ctx.merchant_id,
        category: ctx.category,
        region: ctx.region,
        requested: at(requested),
        first_response: at(first_response),
        // an event without its end instant is not one this service can date: none
        finished: at(done)?,
    })
}

fn return_type(kind: i32) -> ServiceType {
    match ReturnKind::try_from(kind) {
        Ok(ReturnKind::Exchange) => ServiceType::Exchange,
        Ok(ReturnKind::RefundOnly) => ServiceType::RefundOnly,
        _ => ServiceType::Return,
    }
}

/// The finished case an event reports, if it is one that opens a survey.
pub fn opens(e: &EventEnvelope) -> anyhow::Result<Option<Finished>> {
    let data = e.data.as_slice();
    Ok(match e.r#type.as_str() {
        "aftersales.returns.v1.ReturnCompleted" => {
            let d = ReturnCompleted::decode(data)?;
            let times = (&d.request_time, &d.first_response_time, &d.complete_time);
            finished(d.context, return_type(d.kind), times)
        }
        // closed after the merchant's decision (a rejection that stood); a withdrawn or
        // forfeited request was never decided
        "aftersales.returns.v1.ReturnClosed" => {
            let d = ReturnClosed::decode(data)?;
            if d.state != ReturnState::Closed as i32 {
                return Ok(None);
            }
            let times = (&d.request_time, &d.first_response_time, &d.close_time);
            finished(d.context, return_type(d.kind), times)
        }
        "aftersales.repairs.v1.RepairCompleted" => {
            let d = RepairCompleted::decode(data)?;
            let times = (&d.request_time, &d.first_response_time, &d.complete_time);
            finished(d.context, ServiceType::Repair, times)
        }
        "aftersales.complaints.v1.ComplaintClosed" => {
            let d = ComplaintClosed::decode(data)?;
            let times = (&d.create_time, &d.first_response_time, &d.close_time);
            finished(d.context, ServiceType::Complaint, times)
        }
        _ => None,
    })
}

impl Consumer {
    /// Consumes until `shutdown`.
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: vec!["returns".into(), "repairs".into(), "complaints".into()],
            group: "satisfaction".into(),
            consumer: format!("satisfaction-{}", Uuid::new_v4().simple()),
            reclaim_after: Duration::from_secs(30),
        };
        let this = Arc::new(self);
        consume(redis, sub, shutdown, move |e| {
            let this = this.clone();
            async move { this.handle(e).await }
        })
        .await;
    }

    async fn handle(&self, e: EventEnvelope) -> anyhow::Result<()> {
        // an event that does not decode never will: logged and acknowledged, not retried
        let case = match opens(&e) {
            Ok(Some(case)) => case,
            Ok(None) => return Ok(()),
            Err(err) => {
                tracing::error!(event = %e.id, r#type = %e.r#type, error = %err, "undecodable event: skipped");
                return Ok(());
            }
        };
        let window = chrono::Duration::from_std(self.settings.survey_window)?;
        // a case that ended longer ago than a survey lasts (a stream read from its start,
        // a very late delivery) opens none: it could never be answered
        if case.finished + window <= Utc::now() {
            tracing::info!(case = %case.case_name, "finished before the survey window: no survey");
            return Ok(());
        }
        if case.case_name.is_empty() || case.buyer_id.is_empty() {
            tracing::warn!(event = %e.id, "a completion without its case facts: no survey");
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &e.id, &e.source).await? {
            return Ok(());
        }
        // the survey opened when the case finished (a late delivery does not move it,
        // nor its period in the aggregates); never later than now
        let opened = case.finished.min(Utc::now()).trunc_subsecs(6);
        let survey = Survey::open(Uuid::now_v7(), case, opened, window);
        if store::open(&mut tx, &survey).await? {
            store::rollups::opened(&mut tx, &survey).await?;
            let mut out = Batch::default();
            effects::opened(&mut out, &survey);
            out.flush(&mut tx).await?;
            tracing::info!(survey = %names::name(survey.id), case = %survey.case.case_name, "survey opened");
        }
        tx.commit().await?;
        Ok(())
    }
}
