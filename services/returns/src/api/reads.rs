//! Reads: one request, a page of requests (newest first, or the merchant's work queue
//! by deadline), a page of a request's audit trail.

use aftersales_proto::aftersales::returns::v1::{
    GetReturnRequest, ListReturnAuditRequest, ListReturnAuditResponse, ListReturnsRequest,
    ListReturnsResponse, Return,
};
use chrono::{DateTime, Utc};
use kit::{auth::Principal, page};
use uuid::Uuid;

use super::Api;
use crate::{
    domain::case::Case,
    error::not_found,
    names::{self, return_id},
    parse, render, store,
};

impl Api {
    /// The request `name` if the caller may see it, else NOT_FOUND.
    pub(super) async fn visible(&self, who: &Principal, id: Uuid, name: &str) -> kit::Result<Case> {
        store::get(&self.pool, id)
            .await?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(name))
    }

    /// GetReturn.
    pub(super) async fn get(&self, who: &Principal, r: GetReturnRequest) -> kit::Result<Return> {
        let case = self
            .visible(who, return_id("name", &r.name)?, &r.name)
            .await?;
        Ok(render::request(&case, Utc::now()))
    }

    /// ListReturns.
    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListReturnsRequest,
    ) -> kit::Result<ListReturnsResponse> {
        let q = parse::list(&r, who)?;
        let after = q.page.after.clone().unwrap_or(store::After::Start);
        let mut rows = store::list(&self.pool, &q.filter, q.by_due, &after, q.page.fetch()).await?;
        let next_page_token = q
            .page
            .finish(&mut rows, |(c, due)| token(c, *due, q.by_due));
        let now = Utc::now();
        Ok(ListReturnsResponse {
            returns: rows.iter().map(|(c, _)| render::request(c, now)).collect(),
            next_page_token,
        })
    }

    /// ListReturnAudit.
    pub(super) async fn audit(
        &self,
        who: &Principal,
        r: ListReturnAuditRequest,
    ) -> kit::Result<ListReturnAuditResponse> {
        let id = names::return_id("parent", &r.parent)?;
        self.visible(who, id, &r.parent).await?;
        let page = parse::audit_page(&r)?;
        let mut rows =
            store::audit_page(&self.pool, id, page.after.unwrap_or(0), page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListReturnAuditResponse {
            entries: rows.iter().map(render::audit).collect(),
            next_page_token,
        })
    }
}

/// The page token after `c`: its id, or its due time and id for the work queue.
fn token(c: &Case, due: Option<DateTime<Utc>>, by_due: bool) -> String {
    if by_due {
        page::time_id_token(due, c.id)
    } else {
        c.id.to_string()
    }
}
