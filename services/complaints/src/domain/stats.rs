//! A month's complaint statistics (SPEC §6 analysis): what was filed and closed, the top
//! root causes, the split by category, channel and liability, the share resolved within
//! the priority's clock, and the mean times to first response and to resolution.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{
    clocks::ClockKind,
    kinds::{Liability, Priority},
    ticket::Ticket,
};

/// Counts of one key, most frequent first (ties by key).
pub type Counts = Vec<(String, u32)>;

#[derive(Debug, Default, PartialEq)]
pub struct Month {
    pub created: u32,
    pub closed: u32,
    pub top_causes: Counts,
    pub by_category: Counts,
    pub by_channel: Counts,
    pub by_liability: Counts,
    pub by_region: Counts,
    pub by_merchant: Counts,
    /// Of the tickets resolved in the month, the share without a resolution breach.
    pub on_time_share: f64,
    /// Per priority, urgent first: (resolved, of those on time).
    pub on_time_by_priority: Vec<(Priority, u32, u32)>,
    pub mean_first_response: Option<Duration>,
    pub mean_resolution: Option<Duration>,
}

fn ranked(m: BTreeMap<String, u32>, top: usize) -> Counts {
    let mut v: Counts = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(top);
    v
}

fn mean(spans: &[Duration]) -> Option<Duration> {
    (!spans.is_empty()).then(|| {
        let total: i64 = spans.iter().map(|d| d.num_milliseconds()).sum();
        Duration::milliseconds(total / spans.len() as i64)
    })
}

fn liability_name(l: Liability) -> &'static str {
    match l {
        Liability::Merchant => "MERCHANT",
        Liability::Carrier => "CARRIER",
        Liability::Platform => "PLATFORM",
        Liability::Buyer => "BUYER",
    }
}

/// The statistics of `[from, to)` over `tickets` (those created, resolved or closed in it).
pub fn month(tickets: &[Ticket], from: DateTime<Utc>, to: DateTime<Utc>, top: usize) -> Month {
    let within = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= from && t < to);
    let mut m = Month::default();
    let (mut causes, mut categories, mut channels, mut liabilities) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    let (mut regions, mut merchants) = (BTreeMap::new(), BTreeMap::new());
    let (mut first, mut resolution) = (Vec::new(), Vec::new());
    let mut per_priority = [(Priority::Urgent, 0u32, 0u32), (Priority::Normal, 0, 0)];
    for t in tickets {
        if within(Some(t.created)) {
            m.created += 1;
            *categories.entry(t.category.clone()).or_insert(0) += 1;
            *channels.entry(t.channel.to_string()).or_insert(0) += 1;
            *regions.entry(t.region.clone()).or_insert(0) += 1;
            *merchants.entry(t.merchant_id.clone()).or_insert(0) += 1;
            if let Some(c) = t.claimed {
                first.push(c - t.created);
            }
        }
        if within(t.closed) {
            m.closed += 1;
            *causes.entry(t.cause.clone()).or_insert(0) += 1;
        }
        if let Some(r) = t.ruling.as_ref().filter(|r| within(Some(r.at))) {
            *liabilities
                .entry(liability_name(r.liability).to_string())
                .or_insert(0) += 1;
        }
        if within(t.resolved) {
            resolution.push(t.resolved.unwrap_or(t.created) - t.created);
            let late = t.breaches.iter().any(|b| b.clock == ClockKind::Resolution);
            if let Some(p) = per_priority.iter_mut().find(|p| p.0 == t.priority) {
                p.1 += 1;
                p.2 += u32::from(!late);
            }
        }
    }
    m.top_causes = ranked(causes, top);
    m.by_category = ranked(categories, usize::MAX);
    m.by_channel = ranked(channels, usize::MAX);
    m.by_liability = ranked(liabilities, usize::MAX);
    m.by_region = ranked(regions, usize::MAX);
    m.by_merchant = ranked(merchants, top);
    let (resolved, on_time) = per_priority
        .iter()
        .fold((0, 0), |(r, o), p| (r + p.1, o + p.2));
    m.on_time_by_priority = per_priority.to_vec();
    m.on_time_share = if resolved == 0 {
        0.0
    } else {
        on_time as f64 / resolved as f64
    };
    m.mean_first_response = mean(&first);
    m.mean_resolution = mean(&resolution);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{clocks::Breach, fixture};

    #[test]
    fn a_month_counts_what_it_saw_and_the_on_time_share() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-02T02:00:00Z")
            .unwrap()
            .to_utc();
        let mut a = fixture::ticket(t0);
        a.claimed = Some(t0 + Duration::hours(1));
        a.resolved = Some(t0 + Duration::hours(10));
        a.closed = Some(t0 + Duration::hours(11));
        a.cause = "quality_defect".into();
        a.priority = Priority::Urgent;
        let mut b = fixture::ticket(t0);
        b.claimed = Some(t0 + Duration::hours(3));
        b.resolved = Some(t0 + Duration::hours(60));
        b.breaches.push(Breach {
            clock: ClockKind::Resolution,
            due: t0 + Duration::hours(48),
            owner: None,
        });
        let from = DateTime::parse_from_rfc3339("2026-11-30T16:00:00Z")
            .unwrap()
            .to_utc();
        let to = DateTime::parse_from_rfc3339("2026-12-31T16:00:00Z")
            .unwrap()
            .to_utc();
        let m = month(&[a, b], from, to, 10);
        assert_eq!((m.created, m.closed), (2, 1));
        assert_eq!(m.top_causes, [("quality_defect".to_string(), 1)]);
        assert_eq!(m.on_time_share, 0.5);
        assert_eq!(
            m.on_time_by_priority,
            [(Priority::Urgent, 1, 1), (Priority::Normal, 1, 0)]
        );
        assert_eq!(m.by_region, [("CN-31".to_string(), 2)]);
        assert_eq!(m.by_merchant, [("merchant-1".to_string(), 2)]);
        assert_eq!(m.mean_first_response, Some(Duration::hours(2)));
        assert_eq!(m.mean_resolution, Some(Duration::hours(35)));
    }
}
