//! The CSAT alert, judged in each rating's transaction: the merchant's state locked (its
//! ratings judge one at a time, so a crossing is seen once), its trailing window summed
//! from the rollups (the ratings of surveys opened in the last 30 UTC+8 days, today
//! included; a rating of a survey opened before that counts toward its own open day,
//! outside the window), and an alert raised on a fall below the target: stored,
//! `AlertRaised` published, the merchant told.

use chrono::{DateTime, Duration, Utc};
use kit::outbox::Batch;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        aggregate::day_of,
        alert::{Crossing, crossing},
    },
    effects,
    settings::{ALERT_WINDOW_DAYS, Settings},
    store::alerts::{self, Alert},
};

/// Judges `merchant`'s trailing CSAT at `now`, writing what a crossing causes to `out`.
pub async fn judge(
    tx: &mut PgConnection,
    settings: &Settings,
    merchant: &str,
    now: DateTime<Utc>,
    out: &mut Batch,
) -> Result<(), sqlx::Error> {
    let today = day_of(now);
    let span = (
        today - Duration::days(ALERT_WINDOW_DAYS - 1),
        today + Duration::days(1),
    );
    let was_below = alerts::lock_below(tx, merchant).await?;
    let w = alerts::window(tx, merchant, span).await?;
    match crossing(was_below, w, settings.target) {
        Crossing::Raise => {
            let alert = Alert {
                id: Uuid::now_v7(),
                merchant_id: merchant.to_string(),
                value: w.csat(),
                threshold: settings.target.csat,
                sample_size: w.ratings as i32,
                window: span,
                created: now,
            };
            alerts::insert(tx, &alert).await?;
            alerts::set_below(tx, merchant, true).await?;
            effects::alert_raised(out, &alert);
            tracing::warn!(
                merchant,
                csat = w.csat(),
                ratings = w.ratings,
                "CSAT below target"
            );
        }
        Crossing::Rearm => alerts::set_below(tx, merchant, false).await?,
        Crossing::Stay => {}
    }
    Ok(())
}
