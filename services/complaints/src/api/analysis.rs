//! Analysis and transparency: a month's statistics for the desk, and the anonymised
//! public listing of closed complaints' outcomes (any authenticated caller: buyers
//! choosing a shop, merchants, staff; no personal data in it).

use aftersales_proto::aftersales::complaints::v1::{
    ComplaintStats, CountEntry, EarlyWarning, GetComplaintStatsRequest, ListEarlyWarningsRequest,
    ListEarlyWarningsResponse, ListPublicOutcomesRequest, ListPublicOutcomesResponse,
    PriorityOnTime, PublicOutcome,
};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use kit::{
    auth::Principal,
    error::Violations,
    page::{self, Page},
    time::ts,
};

use super::Api;
use crate::{
    domain::{outcome, stats},
    store,
};

/// `[start, end)` of month "YYYY-MM" in Beijing time, or a violation on `field`.
fn month(v: &mut Violations, field: &str, s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let china = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let parsed = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok();
    let Some(first) = parsed.filter(|_| s.len() == 7) else {
        v.add(field, "YYYY-MM");
        return None;
    };
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let at = |d: NaiveDate| {
        china
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    Some((at(first)?, at(next)?))
}

fn entries(counts: &stats::Counts, total: u32) -> Vec<CountEntry> {
    counts
        .iter()
        .map(|(key, n)| CountEntry {
            key: key.clone(),
            count: *n,
            share: if total == 0 {
                0.0
            } else {
                *n as f64 / total as f64
            },
        })
        .collect()
}

fn duration(d: Option<chrono::Duration>) -> Option<prost_types::Duration> {
    d.map(|d| prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: 0,
    })
}

impl Api {
    pub(super) async fn early_warnings(
        &self,
        _who: &Principal,
        r: ListEarlyWarningsRequest,
    ) -> kit::Result<ListEarlyWarningsResponse> {
        let mut v = Violations::new();
        let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
        v.finish()?;
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let (region, category) = (opt(&r.region), opt(&r.category));
        let since = r.start_time.as_ref().and_then(kit::time::from_ts);
        let mut rows = store::surge::warnings_page(
            &self.pool,
            region.as_deref(),
            category.as_deref(),
            since,
            page.after,
            page.fetch(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |w| w.id.to_string());
        Ok(ListEarlyWarningsResponse {
            early_warnings: rows
                .iter()
                .map(|w| EarlyWarning {
                    name: format!("earlyWarnings/{}", w.id),
                    category: w.category.clone(),
                    region: w.region.clone(),
                    window_start_time: Some(ts(w.window_start)),
                    window_end_time: Some(ts(w.window_end)),
                    count: w.count as u32,
                    baseline: w.baseline,
                    ratio: w.ratio,
                    create_time: Some(ts(w.create_time)),
                })
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn stats(
        &self,
        _who: &Principal,
        r: GetComplaintStatsRequest,
    ) -> kit::Result<ComplaintStats> {
        let mut v = Violations::new();
        let range = month(&mut v, "month", &r.month);
        if !(0..=100).contains(&r.top_n) {
            v.add("top_n", "0 (default 10) to 100");
        }
        kit::validate::text(&mut v, "merchant_id", &r.merchant_id, 64);
        v.finish()?;
        let (from, to) = range.expect("checked");
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let (region, category, merchant) = (opt(&r.region), opt(&r.category), opt(&r.merchant_id));
        let tickets = store::touched_in(
            &self.pool,
            from,
            to,
            region.as_deref(),
            category.as_deref(),
            merchant.as_deref(),
        )
        .await?;
        let top = if r.top_n == 0 { 10 } else { r.top_n as usize };
        let m = stats::month(&tickets, from, to, top);
        let ruled: u32 = m.by_liability.iter().map(|(_, n)| n).sum();
        Ok(ComplaintStats {
            month: r.month.clone(),
            created: m.created,
            closed: m.closed,
            top_causes: entries(&m.top_causes, m.closed),
            by_category: entries(&m.by_category, m.created),
            by_channel: entries(&m.by_channel, m.created),
            by_liability: entries(&m.by_liability, ruled),
            on_time_share: m.on_time_share,
            by_region: entries(&m.by_region, m.created),
            by_merchant: entries(&m.by_merchant, m.created),
            on_time_by_priority: m
                .on_time_by_priority
                .iter()
                .map(|&(p, resolved, on_time)| PriorityOnTime {
                    priority: p as i32,
                    resolved,
                    on_time,
                    share: if resolved == 0 {
                        0.0
                    } else {
                        on_time as f64 / resolved as f64
                    },
                })
                .collect(),
            mean_first_response: duration(m.mean_first_response),
            mean_resolution: duration(m.mean_resolution),
        })
    }

    pub(super) async fn public_outcomes(
        &self,
        _who: &Principal,
        r: ListPublicOutcomesRequest,
    ) -> kit::Result<ListPublicOutcomesResponse> {
        let mut v = Violations::new();
        let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
        let within = (!r.month.is_empty())
            .then(|| month(&mut v, "month", &r.month))
            .flatten();
        v.finish()?;
        let category = (!r.category.is_empty()).then_some(r.category.as_str());
        let mut rows =
            store::closed_page(&self.pool, category, within, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |t| t.id.to_string());
        let outcomes = rows
            .iter()
            .map(|t| {
                let summary = t
                    .ruling
                    .as_ref()
                    .map(|x| x.summary.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| t.close_summary.clone());
                PublicOutcome {
                    masked_ticket_number: outcome::masked_number(&t.number),
                    category: t.category.clone(),
                    region: t.region.clone(),
                    problem_summary: outcome::redact(t, &t.problem),
                    liability: t.ruling.as_ref().map_or(0, |x| x.liability as i32),
                    remedy_kinds: t.remedies.iter().map(|x| x.kind as i32).collect(),
                    outcome_summary: outcome::redact(t, &summary),
                    handling_time: t.closed.map(|c| prost_types::Duration {
                        seconds: (c - t.created).num_seconds(),
                        nanos: 0,
                    }),
                    close_time: t.closed.map(ts),
                    shop: t.merchant_id.clone(),
                }
            })
            .collect();
        Ok(ListPublicOutcomesResponse {
            outcomes,
            next_page_token,
        })
    }
}
