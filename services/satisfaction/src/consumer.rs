//! The events satisfaction learns from, over the `returns`, `repairs`, `complaints`,
//! `sla` and `refunds` streams (one consumer group, every replica a consumer): the
//! scorecard's counts (`tally`), and the cases' completion events (`finished`) that open
//! surveys. A refund is always part of a case and opens no survey of its own. Each event
//! is applied once (the inbox), and a case has one survey however often its event comes
//! (the case's UNIQUE row): the survey, its notice, its event, its window's clock and
//! the counts are written in the inbox's transaction.

use std::{sync::Arc, time::Duration};

use aftersales_proto::aftersales::common::v1::EventEnvelope;
use chrono::{SubsecRound, Utc};
use kit::{
    events::{Subscription, consume},
    inbox,
    outbox::Batch,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::survey::Survey, effects, finished::opens, names, settings::Settings, store, tally,
};

/// The consumer of the cases' streams.
pub struct Consumer {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
}

impl Consumer {
    /// Consumes until `shutdown`.
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: ["returns", "repairs", "complaints", "sla", "refunds"]
                .map(String::from)
                .to_vec(),
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
        let (case, tally) = match opens(&e).and_then(|c| Ok((c, tally::of(&e)?))) {
            Ok(x) => x,
            Err(err) => {
                tracing::error!(event = %e.id, r#type = %e.r#type, error = %err, "undecodable event: skipped");
                return Ok(());
            }
        };
        if case.is_none() && tally.is_none() {
            return Ok(());
        }
        let window = chrono::Duration::from_std(self.settings.survey_window)?;
        let case = case.filter(|c| {
            // a case that ended longer ago than a survey lasts (a stream read from its
            // start, a very late delivery) opens none: it could never be answered
            if c.finished
                .checked_add_signed(window)
                .is_some_and(|end| end <= Utc::now())
            {
                tracing::info!(case = %c.case_name, "finished before the survey window: no survey");
                return false;
            }
            if c.case_name.is_empty() || c.buyer_id.is_empty() {
                tracing::warn!(event = %e.id, "a completion without its case facts: no survey");
                return false;
            }
            true
        });
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, &e.id, &e.source).await? {
            return Ok(());
        }
        // a case's end counts once whatever opens (the ledger of cases counted)
        let count = tally;
        if let Some(case) = case {
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
        }
        if let Some((merchant, at, t)) = &count {
            store::merchants::add(&mut tx, merchant, *at, t).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
