//! The merchant's and the platform's side: aggregates folded from the daily rollups,
//! never from the ratings themselves.

use aftersales_proto::aftersales::satisfaction::v1::{GetAggregatesRequest, GetAggregatesResponse};
use kit::auth::Principal;

use super::Api;
use crate::{domain::aggregate, parse, render, store::rollups};

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
}
