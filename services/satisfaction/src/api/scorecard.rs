//! The merchant after-sales scorecard, for admission and review: SLA compliance,
//! complaint rate, CSAT, late penalties, re-repairs, each beside the counts behind it,
//! read from the per-day counters and rollups (never from cases or ratings).

use aftersales_proto::aftersales::{
    common::v1::Money,
    satisfaction::v1::{GetMerchantScorecardRequest, MerchantScorecard},
};
use chrono::Utc;
use kit::auth::Principal;

use super::Api;
use crate::{
    domain::aggregate::{self, GroupBy},
    parse, render,
    store::{merchants, rollups},
};

impl Api {
    pub(super) async fn scorecard(
        &self,
        who: &Principal,
        r: GetMerchantScorecardRequest,
    ) -> kit::Result<MerchantScorecard> {
        let (merchant, span) = parse::scorecard(&r, who, Utc::now())?;
        let counts = merchants::counts(&self.pool, &merchant, span).await?;
        let filter = rollups::Filter {
            merchant_id: Some(merchant.clone()),
            ..Default::default()
        };
        let days = rollups::days(&self.pool, &filter, span).await?;
        let totals = aggregate::group(&days, GroupBy::default(), span)
            .pop()
            .map(|(_, t)| t)
            .unwrap_or_default();
        let csat = totals.csat();
        let target = self.settings.target;
        Ok(MerchantScorecard {
            name: r.name.clone(),
            start_time: render::day_start(span.0),
            end_time: render::day_start(span.1),
            cases: counts.cases as u32,
            sla_clocks: counts.sla_clocks as u32,
            sla_breaches: counts.sla_breaches as u32,
            sla_compliance: counts.sla_compliance(),
            complaints: counts.complaints as u32,
            complaint_rate: counts.complaint_rate(),
            ratings: totals.ratings as u32,
            satisfied_ratings: totals.satisfied as u32,
            csat: csat.unwrap_or(0.0),
            below_csat_target: totals.ratings >= target.min_ratings
                && csat.is_some_and(|c| c < target.csat),
            penalties: counts
                .penalties
                .iter()
                .map(|(currency, (minor, _))| Money {
                    amount_minor: *minor,
                    currency: currency.clone(),
                })
                .collect(),
            late_penalties_settled: counts.penalties.values().map(|(_, n)| *n as u32).sum(),
            mean_first_response_time: render::secs(totals.first_response.mean()),
            mean_resolution_time: render::secs(totals.resolution.mean()),
            re_repairs: counts.re_repairs as u32,
        })
    }
}
