//! Reads: one complaint (by name or ticket number), lists in the caller's scope, the
//! audit trail. A complaint the caller may not see is NOT_FOUND.

use aftersales_proto::aftersales::complaints::v1::{
    Complaint, GetComplaintRequest, ListComplaintAuditRequest, ListComplaintAuditResponse,
    ListComplaintsRequest, ListComplaintsResponse,
};
use kit::auth::Principal;

use super::Api;
use crate::{
    error::not_found,
    names,
    parse::{self, Lookup},
    render, store,
};

impl Api {
    pub(super) async fn get(
        &self,
        who: &Principal,
        r: GetComplaintRequest,
    ) -> kit::Result<Complaint> {
        let shown = if r.name.is_empty() {
            &r.ticket_number
        } else {
            &r.name
        };
        let t = match parse::lookup(&r.name, &r.ticket_number)? {
            Lookup::Id(id) => store::get(&self.pool, id).await?,
            Lookup::Number(n) => store::by_number(&self.pool, &n).await?,
        }
        .filter(|t| who.can_see_case(&t.buyer_id, &t.merchant_id))
        .ok_or_else(|| not_found(shown))?;
        Ok(render::complaint(&t, who))
    }

    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListComplaintsRequest,
    ) -> kit::Result<ListComplaintsResponse> {
        let (filter, page) = parse::list(&r, who)?;
        let mut rows = store::list(&self.pool, &filter, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |t| t.id.to_string());
        Ok(ListComplaintsResponse {
            complaints: rows.iter().map(|t| render::complaint(t, who)).collect(),
            next_page_token,
        })
    }

    pub(super) async fn audit(
        &self,
        who: &Principal,
        r: ListComplaintAuditRequest,
    ) -> kit::Result<ListComplaintAuditResponse> {
        let id = names::complaint_id("parent", &r.parent)?;
        let page = kit::audit::page(r.page_size, &r.page_token)?;
        store::get(&self.pool, id)
            .await?
            .filter(|t| who.can_see_case(&t.buyer_id, &t.merchant_id))
            .ok_or_else(|| not_found(&r.parent))?;
        let mut rows =
            kit::audit::read(&self.pool, id, page.after.unwrap_or(0), page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListComplaintAuditResponse {
            entries: rows.iter().map(render::audit_entry).collect(),
            next_page_token,
        })
    }
}
