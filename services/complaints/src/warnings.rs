//! Early warning (SPEC §6, seed 002: a surge of one category's complaints in one region
//! triggers a check). A consumer of the service's own `ComplaintOpened` events keeps one
//! surge detector per (category, region) (`rules::surge`: a Poisson upper tail against a
//! weekday-aware trailing 28-day baseline, at least 5 a day, once per surge), fed with the
//! day's count as complaints arrive. Off the filing's own transaction, so a busy key
//! never slows intake; incremental (the detector's state keeps the open day's count, one
//! more per ticket: O(1) per complaint however busy the day), each ticket counted once
//! (the inbox); a day is closed with its count from the tickets (one count per key and
//! day), so a ticket whose event comes late still counts in its own day. A key seen for the first time starts from the daily counts its tickets
//! already have.

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    complaints::v1::{ComplaintOpened, EarlyWarning, EarlyWarningRaised},
};
use chrono::{DateTime, Duration, Utc};
use kit::{
    events::{Subscription, consume},
    time::ts,
};
use prost::Message;
use rules::surge::{Detector, Params as SurgeParams, State as SurgeState, Warning as SurgeWarning};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::days::{day_of, day_start},
    names, store,
};

/// The warnings task.
pub struct Warnings {
    pub pool: PgPool,
}

impl Warnings {
    pub async fn run(self, redis: redis::Client, prefix: String, shutdown: CancellationToken) {
        let sub = Subscription {
            prefix,
            topics: vec!["complaints".into()],
            group: "complaints-warnings".into(),
            consumer: format!("complaints-warnings-{}", Uuid::new_v4().simple()),
            reclaim_after: std::time::Duration::from_secs(30),
        };
        let pool = self.pool;
        consume(redis, sub, shutdown, move |e| {
            let pool = pool.clone();
            async move { handle(&pool, e).await }
        })
        .await;
    }
}

async fn handle(pool: &PgPool, e: EventEnvelope) -> anyhow::Result<()> {
    if e.r#type != "aftersales.complaints.v1.ComplaintOpened" {
        return Ok(());
    }
    let opened = ComplaintOpened::decode(e.data.as_slice())?;
    let Some(ctx) = opened.context else {
        return Ok(());
    };
    let Some(id) = kit::names::id(names::COMPLAINTS, &ctx.case_name) else {
        return Ok(());
    };
    let Some(ticket) = store::get(pool, id).await? else {
        return Ok(());
    };
    let mut tx = pool.begin().await?;
    // each ticket counts once, however often its event is delivered
    if !kit::inbox::first_delivery(&mut tx, &format!("warnings:{}", e.id), &e.source).await? {
        return Ok(());
    }
    let raised = observe(
        &mut tx,
        &ticket.category,
        &ticket.region,
        day_of(ticket.created),
    )
    .await?;
    if let Some(w) = raised {
        let id = Uuid::now_v7();
        store::surge::insert_warning(&mut tx, id, &ticket.category, &ticket.region, &w).await?;
        let warning = render(id, &ticket.category, &ticket.region, &w, Utc::now());
        let mut out = kit::outbox::Batch::default();
        out.event(
            "complaints",
            "complaints",
            &warning.name,
            &EarlyWarningRaised {
                warning: Some(warning.clone()),
            },
        );
        out.flush(&mut tx).await?;
        tracing::warn!(category = %ticket.category, region = %ticket.region, count = w.count, baseline = w.baseline, "complaint surge: early warning raised");
    }
    tx.commit().await?;
    Ok(())
}

/// Observes the count of `day` for the key, under its row lock; the warning it raises.
async fn observe(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
    day: i64,
) -> Result<Option<SurgeWarning>, sqlx::Error> {
    let (state, count) = match store::surge::lock_surge_key(tx, category, region).await? {
        // one more of the open day, or the first of a later one (an earlier day's is
        // ignored by the detector: its window has moved on)
        Some(mut s) => {
            let count = match s.day {
                Some(open) if open == day => s.today.saturating_add(1),
                // the first of a later day closes the open one with its count from the
                // tickets: one whose event comes after this one still counts in it
                Some(open) if open < day => {
                    let (from, to) = (day_start(open), day_start(open + 1));
                    s.today = store::surge::count_between(tx, category, region, from, to).await?;
                    1
                }
                _ => 1,
            };
            (s, count)
        }
        // the key's first ticket: its window from the tickets before the day; the day's
        // other tickets count as their own events come (none came yet: no key row)
        None => (bootstrap(tx, category, region, day).await?, 1),
    };
    let mut d = Detector::from_state(SurgeParams::default(), state);
    let raised = d.observe(day, count);
    store::surge::put_surge_key(tx, category, region, &d.state()).await?;
    Ok(raised)
}

/// A key seen for the first time: the 28 days before `day` as its tickets count them,
/// its history from its first day with a complaint (a brand-new key has none, so it
/// warms up before it can warn).
async fn bootstrap(
    tx: &mut PgConnection,
    category: &str,
    region: &str,
    day: i64,
) -> Result<SurgeState, sqlx::Error> {
    let first = day - rules::surge::WINDOW as i64;
    let mut window = [0u32; rules::surge::WINDOW];
    let mut earliest = None;
    for (d, n) in
        store::surge::daily_counts(tx, category, region, day_start(first), day_start(day)).await?
    {
        let i = (d - first) as usize;
        if i < window.len() {
            window[i] = n;
            earliest = Some(earliest.map_or(d, |e: i64| e.min(d)));
        }
    }
    Ok(SurgeState {
        // the window is the 28 days before `day`, which the first observation opens
        day: None,
        today: 0,
        window,
        history: earliest.map_or(0, |e| (day - e) as u32),
        in_surge: false,
        quiet: 0,
    })
}

/// The contract's view of a warning.
pub fn render(
    id: Uuid,
    category: &str,
    region: &str,
    w: &SurgeWarning,
    at: DateTime<Utc>,
) -> EarlyWarning {
    EarlyWarning {
        name: format!("earlyWarnings/{id}"),
        category: category.into(),
        region: region.into(),
        window_start_time: Some(ts(day_start(w.day))),
        window_end_time: Some(ts(day_start(w.day) + Duration::days(1))),
        count: w.count,
        baseline: w.baseline,
        ratio: w.ratio,
        create_time: Some(ts(at)),
    }
}
