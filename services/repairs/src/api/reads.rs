//! The reads: one repair (by name or by number), a list, the audit trail. A repair the
//! caller may not see (another buyer's, another shop's) does not exist for it.

use aftersales_proto::aftersales::repairs::v1::{
    GetRepairRequest, ListRepairAuditRequest, ListRepairAuditResponse, ListRepairsRequest,
    ListRepairsResponse, Repair,
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
    pub(super) async fn get(&self, who: &Principal, r: GetRepairRequest) -> kit::Result<Repair> {
        let asked = if r.name.is_empty() {
            &r.repair_number
        } else {
            &r.name
        };
        let found = match parse::get(&r)? {
            Lookup::Id(id) => store::get(&self.pool, id).await?,
            Lookup::Number(n) => store::by_number(&self.pool, &n).await?,
        };
        found
            .filter(|x| who.can_see_case(&x.buyer_id, &x.merchant_id))
            .map(|x| render::repair(&x))
            .ok_or_else(|| not_found(asked))
    }

    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListRepairsRequest,
    ) -> kit::Result<ListRepairsResponse> {
        let (filter, page) = parse::list(&r, who)?;
        let mut rows = store::list(&self.pool, &filter, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |x| x.id.to_string());
        Ok(ListRepairsResponse {
            repairs: rows.iter().map(render::repair).collect(),
            next_page_token,
        })
    }

    pub(super) async fn audit(
        &self,
        who: &Principal,
        r: ListRepairAuditRequest,
    ) -> kit::Result<ListRepairAuditResponse> {
        let id = names::repair_id("parent", &r.parent)?;
        let page = kit::audit::page(r.page_size, &r.page_token)?;
        store::get(&self.pool, id)
            .await?
            .filter(|x| who.can_see_case(&x.buyer_id, &x.merchant_id))
            .ok_or_else(|| not_found(&r.parent))?;
        let mut rows =
            kit::audit::read(&self.pool, id, page.after.unwrap_or(0), page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListRepairAuditResponse {
            entries: rows.iter().map(render::audit_entry).collect(),
            next_page_token,
        })
    }
}
