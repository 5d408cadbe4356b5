//! The events the scorecard counts, decoded: a case that ended (and a repair's extra
//! rounds), a complaint opened, one of the merchant's clocks met (cancelled) or breached
//! (expired) on the SLA service (by its `party` label), a late penalty settled. Each is
//! dated on the platform's day it happened.

use aftersales_proto::aftersales::{
    common::v1::EventEnvelope,
    complaints::v1::ComplaintOpened,
    refunds::v1::{RefundKind, RefundSettled},
    repairs::v1::RepairCompleted,
    sla::v1::{TimerCancelled, TimerExpired},
};
use chrono::{DateTime, Utc};
use kit::time::from_ts;
use prost::Message;

use crate::{domain::scorecard::Tally, finished::opens};

/// What `e` adds to whose day, when (None: not counted).
pub fn of(e: &EventEnvelope) -> anyhow::Result<Option<(String, DateTime<Utc>, Tally)>> {
    let data = e.data.as_slice();
    let sent = e.time.as_ref().and_then(from_ts).unwrap_or_else(Utc::now);
    let at = |t: &Option<prost_types::Timestamp>| t.as_ref().and_then(from_ts).unwrap_or(sent);
    let merchant_clock = |labels: &std::collections::BTreeMap<String, String>| {
        (labels.get("party").map(String::as_str) == Some(kit::sla::party::MERCHANT))
            .then(|| labels.get("merchant_id").cloned())
            .flatten()
            .filter(|m| !m.is_empty())
    };
    Ok(match e.r#type.as_str() {
        // dated and named as the survey's case is
        "aftersales.repairs.v1.RepairCompleted" => {
            let rounds = RepairCompleted::decode(data)?.rounds;
            let re_repairs = i64::from(rounds.saturating_sub(1));
            opens(e)?.map(|c| {
                let tally = Tally::CaseEnded {
                    case_name: c.case_name,
                    re_repairs,
                };
                (c.merchant_id, c.finished, tally)
            })
        }
        "aftersales.complaints.v1.ComplaintOpened" => {
            let d = ComplaintOpened::decode(data)?;
            d.context
                .map(|c| (c.merchant_id, sent, Tally::ComplaintOpened))
        }
        "aftersales.sla.v1.TimerExpired" => {
            let b = TimerExpired::decode(data)?.breach.unwrap_or_default();
            merchant_clock(&b.labels).map(|m| (m, at(&b.due_time), Tally::Clock { breached: true }))
        }
        // met: cancelled before its due time and never fired (a cancel after the due
        // time, or of a fired timer, is the expiry's to count)
        "aftersales.sla.v1.TimerCancelled" => {
            let t = TimerCancelled::decode(data)?.timer.unwrap_or_default();
            let due = t.due_time.as_ref().and_then(from_ts);
            let met = t.fired_time.is_none() && due.is_some_and(|d| sent < d);
            merchant_clock(&t.labels)
                .filter(|_| met)
                .map(|m| (m, sent, Tally::Clock { breached: false }))
        }
        "aftersales.refunds.v1.RefundSettled" => {
            let d = RefundSettled::decode(data)?;
            let amount = d.amount.unwrap_or_default();
            (d.kind == RefundKind::LatePenalty as i32 && !d.merchant_id.is_empty()).then(|| {
                let tally = Tally::Penalty {
                    currency: amount.currency,
                    minor: amount.amount_minor,
                };
                (d.merchant_id, at(&d.settle_time), tally)
            })
        }
        // the other cases' ends: those that open a survey
        _ => opens(e)?.map(|c| {
            let tally = Tally::CaseEnded {
                case_name: c.case_name,
                re_repairs: 0,
            };
            (c.merchant_id, c.finished, tally)
        }),
    }
    .filter(|(m, _, _)| !m.is_empty()))
}
