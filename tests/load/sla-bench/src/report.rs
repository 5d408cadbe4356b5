//! From the recorded deliveries to the figures: lateness percentiles of each timer's first
//! expiry, duplicates and missing timers.

use std::{
    collections::{HashMap, HashSet},
    time::SystemTime,
};

use aftersales_proto::aftersales::sla::v1::TimerEventKind;

use crate::{load::Plan, receiver::Delivery};

/// Firing figures of one run.
#[derive(Debug, Default)]
pub struct Firing {
    /// Lateness in ms of each delivered timer's first expiry, ascending.
    pub lateness_ms: Vec<f64>,
    /// Of each first expiry's lateness, the part before the service fired it (waking and
    /// confirming its lease) and the part after (the call to the owner), ascending: where
    /// the time goes.
    pub firing_ms: Vec<f64>,
    pub transit_ms: Vec<f64>,
    /// Expiry deliveries beyond the first per timer.
    pub duplicates: usize,
    /// Of those, the ones repeating an already seen delivery_id (a redelivery the owner
    /// deduplicates); the others are a second firing under a new id, which it would not.
    pub same_id_duplicates: usize,
    /// Timers that were scheduled and never delivered.
    pub missing: usize,
    /// First deliveries that arrived before the due time.
    pub early: usize,
    /// Deliveries whose due time differs (by 1 ms or more) from the one we scheduled.
    pub due_mismatch: usize,
    /// Deliveries for subjects this run never scheduled, and non-expiry events.
    pub foreign: usize,
}

/// Milliseconds from `a` to `b` (negative when `b` is earlier).
fn ms_between(a: SystemTime, b: SystemTime) -> f64 {
    match b.duration_since(a) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

/// Lateness is measured against the due time the bench asked for (what the owner cares
/// about, and what the BullMQ peer measures against); `due_mismatch` reports any
/// delivery whose own `due_time` says otherwise.
pub fn firing(plan: &Plan, deliveries: &[Delivery], scheduled: &[bool]) -> Firing {
    let mut f = Firing::default();
    let mut first: HashMap<usize, (SystemTime, Option<SystemTime>)> = HashMap::new();
    let mut ids: HashSet<&str> = HashSet::new();
    for d in deliveries {
        let Some(i) = plan.index_of(&d.subject) else {
            f.foreign += 1;
            continue;
        };
        if d.event_kind != TimerEventKind::Expired as i32 {
            f.foreign += 1;
            continue;
        }
        let due = plan.due(i);
        if let Some(sent) = d.due
            && ms_between(due, sent).abs() >= 1.0
        {
            f.due_mismatch += 1;
        }
        let new_id = ids.insert(&d.delivery_id);
        match first.get_mut(&i) {
            Some(t) => {
                f.duplicates += 1;
                if !new_id {
                    f.same_id_duplicates += 1;
                }
                // Deliveries are recorded in arrival order, but keep the earliest anyway.
                if d.received < t.0 {
                    *t = (d.received, d.fired);
                }
            }
            None => {
                first.insert(i, (d.received, d.fired));
            }
        }
    }
    for (&i, &(received, fired)) in &first {
        let late = ms_between(plan.due(i), received);
        if late < 0.0 {
            f.early += 1;
        }
        f.lateness_ms.push(late);
        if let Some(fired) = fired {
            f.firing_ms.push(ms_between(plan.due(i), fired));
            f.transit_ms.push(ms_between(fired, received));
        }
    }
    f.lateness_ms.sort_by(f64::total_cmp);
    f.firing_ms.sort_by(f64::total_cmp);
    f.transit_ms.sort_by(f64::total_cmp);
    f.missing = scheduled
        .iter()
        .enumerate()
        .filter(|&(i, &ok)| ok && !first.contains_key(&i))
        .count();
    f
}

/// Nearest-rank percentile of an ascending slice (the same rule as the BullMQ peer).
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Rounded to µs, for the JSON line.
pub fn round3(x: Option<f64>) -> Option<f64> {
    x.map(|v| (v * 1000.0).round() / 1000.0)
}
