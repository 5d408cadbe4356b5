//! The merchant's and the platform's side: aggregates folded from the daily rollups,
//! never from the ratings themselves, and the CSAT alerts raised.

use aftersales_proto::aftersales::satisfaction::v1::{
    GetAggregatesRequest, GetAggregatesResponse, ListAlertsRequest, ListAlertsResponse,
};
use kit::auth::Principal;

use super::Api;
use crate::{
    domain::aggregate,
    parse, render,
    store::{alerts, rollups},
};

impl Api {
    pub(super) async fn aggregates(
        &self,
        who: &Principal,
        r: GetAggregatesRequest,
    ) -> kit::Result<GetAggregatesResponse> {
        let (filter, by, span) = parse::aggregates(&r, who)?;
        let days = rollups::days(&self.pool, &filter, span).await?;
        let groups = aggregate::group(&days, by, span);
        Ok(GetAggregatesResponse {
            aggregates: groups.iter().map(render::aggregate).collect(),
        })
    }

    pub(super) async fn alerts(
        &self,
        who: &Principal,
        r: ListAlertsRequest,
    ) -> kit::Result<ListAlertsResponse> {
        let q = parse::alerts(&r, who)?;
        let (merchant, page) = (q.merchant.as_deref(), &q.page);
        let mut rows =
            alerts::list(&self.pool, merchant, q.since, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListAlertsResponse {
            alerts: rows.iter().map(render::alert).collect(),
            next_page_token,
        })
    }
}
