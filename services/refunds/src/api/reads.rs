//! The reads: one refund, a page of refunds with totals over every page, and the late
//! penalty a line would earn (a pure computation, nothing stored).

use aftersales_proto::aftersales::refunds::v1::{
    ComputeLatePenaltyRequest, ComputeLatePenaltyResponse, ListRefundsRequest, ListRefundsResponse,
    Refund,
};
use kit::auth::Principal;
use rules::penalty;

use super::Api;
use crate::{errors, names, parse, render, store};

impl Api {
    /// GetRefund: NOT_FOUND also when the caller may not see the refund.
    pub(super) async fn get(&self, who: &Principal, name: &str) -> kit::Result<Refund> {
        let id = names::refund_id("name", name)?;
        let row = store::get(&self.pool, id)
            .await?
            .filter(|r| who.can_see_case(&r.buyer_id, &r.merchant_id))
            .ok_or_else(|| errors::not_found(name))?;
        Ok(render::refund(&row))
    }

    /// ListRefunds: newest first, keyset-paged, with totals over the whole filter.
    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListRefundsRequest,
    ) -> kit::Result<ListRefundsResponse> {
        let (f, page) = parse::list(who, &r)?;
        let mut rows = store::list(&self.pool, &f, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |r| r.id.to_string());
        let totals = store::totals(&self.pool, &f).await?;
        Ok(ListRefundsResponse {
            refunds: rows.iter().map(render::refund).collect(),
            next_page_token,
            totals: totals.into_iter().map(render::total).collect(),
        })
    }
}

/// ComputeLatePenalty: the shared rule (`rules::penalty`) on the line's amount.
pub(super) fn late_penalty(
    r: &ComputeLatePenaltyRequest,
) -> kit::Result<ComputeLatePenaltyResponse> {
    let (line, currency) = parse::late_penalty(r)?;
    let p = penalty::late_penalty(line, r.late_days, r.buyer_caused).map_err(errors::penalty)?;
    Ok(render::late_penalty(p, currency))
}
