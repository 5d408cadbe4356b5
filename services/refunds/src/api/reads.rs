//! The reads: one refund, a page of refunds with totals over every page, a page of a
//! refund's audit trail, and the late penalty a line would earn (a pure computation,
//! nothing stored). Each answers what its caller may read (`render::refund_for`).

use aftersales_proto::aftersales::refunds::v1::{
    ComputeLatePenaltyRequest, ComputeLatePenaltyResponse, ListRefundAuditRequest,
    ListRefundAuditResponse, ListRefundsRequest, ListRefundsResponse, Refund,
};
use kit::auth::Principal;
use rules::penalty;
use uuid::Uuid;

use super::Api;
use crate::{
    errors, names, parse, render,
    store::{self, RefundRow},
};

impl Api {
    /// The refund `name` (parsed from `field`) if the caller may see it; NOT_FOUND also
    /// when it may not, so a foreign refund's existence never leaks.
    async fn visible(&self, who: &Principal, field: &str, name: &str) -> kit::Result<RefundRow> {
        let id: Uuid = names::refund_id(field, name)?;
        store::get(&self.pool, id)
            .await?
            .filter(|r| who.can_see_case(&r.buyer_id, &r.merchant_id))
            .ok_or_else(|| errors::not_found(name))
    }

    /// GetRefund.
    pub(super) async fn get(&self, who: &Principal, name: &str) -> kit::Result<Refund> {
        let row = self.visible(who, "name", name).await?;
        Ok(render::refund_for(who, &row))
    }

    /// ListRefundAudit: the trail of a refund the caller may see, oldest first.
    pub(super) async fn audit(
        &self,
        who: &Principal,
        r: ListRefundAuditRequest,
    ) -> kit::Result<ListRefundAuditResponse> {
        let page = kit::audit::page(r.page_size, &r.page_token)?;
        let refund = self.visible(who, "parent", &r.parent).await?;
        let mut rows =
            store::audit_page(&self.pool, refund.id, page.after.unwrap_or(0), page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListRefundAuditResponse {
            entries: rows.iter().map(|a| render::audit_for(who, a)).collect(),
            next_page_token,
        })
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
            refunds: rows.iter().map(|r| render::refund_for(who, r)).collect(),
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
