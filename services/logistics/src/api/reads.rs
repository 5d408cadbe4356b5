//! The reads: one shipment, the timelines of a shipment, a case or a tracking number,
//! keyset-paged lists and a shipment's audit trail; each only what the caller may see
//! (`visible`: a partner its own carriers', a buyer or a merchant their own cases').

use aftersales_proto::aftersales::logistics::v1::{
    GetShipmentTimelineRequest, GetShipmentTimelineResponse, ListShipmentAuditRequest,
    ListShipmentAuditResponse, ListShipmentsRequest, ListShipmentsResponse, Shipment,
    ShipmentTimeline,
};
use kit::{Error, auth::Principal};

use super::{Api, visible};
use crate::{
    names,
    parse::{self, Timeline},
    render,
    store::{self, ShipmentRow},
};

fn not_found(name: String) -> Error {
    Error::NotFound {
        resource: "shipment",
        name,
    }
}

impl Api {
    /// The shipment `name` if `who` may see it; NOT_FOUND otherwise, so a foreign
    /// shipment's existence never leaks.
    async fn visible(&self, who: &Principal, name: &str) -> kit::Result<ShipmentRow> {
        store::get(&self.pool, names::shipment_id(name)?)
            .await?
            .filter(|s| visible(who, s))
            .ok_or_else(|| not_found(name.to_string()))
    }

    pub(super) async fn get(&self, who: &Principal, name: String) -> kit::Result<Shipment> {
        Ok(render::shipment(&self.visible(who, &name).await?))
    }

    /// ListShipmentAudit: the trail of a shipment the caller may see, oldest first.
    pub(super) async fn audit(
        &self,
        who: &Principal,
        r: ListShipmentAuditRequest,
    ) -> kit::Result<ListShipmentAuditResponse> {
        let page = kit::audit::page(r.page_size, &r.page_token)?;
        let shipment = self.visible(who, &r.parent).await?;
        let mut rows = store::audit_page(
            &self.pool,
            shipment.id,
            page.after.unwrap_or(0),
            page.fetch(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(ListShipmentAuditResponse {
            entries: rows.iter().map(render::audit).collect(),
            next_page_token,
        })
    }

    pub(super) async fn timeline(
        &self,
        who: &Principal,
        r: GetShipmentTimelineRequest,
    ) -> kit::Result<GetShipmentTimelineResponse> {
        let rows = match parse::timeline(who, &r)? {
            Timeline::Name(id) => store::get(&self.pool, id).await?.into_iter().collect(),
            Timeline::Filter(f) => store::list(&self.pool, &f, None, false, 100).await?,
        };
        let rows: Vec<ShipmentRow> = rows.into_iter().filter(|s| visible(who, s)).collect();
        if rows.is_empty() && !r.name.is_empty() {
            return Err(not_found(r.name));
        }
        Ok(GetShipmentTimelineResponse {
            timelines: self.timelines(rows).await?,
        })
    }

    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListShipmentsRequest,
    ) -> kit::Result<ListShipmentsResponse> {
        let (f, page) = parse::list(who, &r)?;
        let mut rows = store::list(&self.pool, &f, page.after, true, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |s| s.id.to_string());
        Ok(ListShipmentsResponse {
            shipments: rows.iter().map(render::shipment).collect(),
            next_page_token,
        })
    }

    async fn timelines(&self, rows: Vec<ShipmentRow>) -> kit::Result<Vec<ShipmentTimeline>> {
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            let events = store::events(&mut conn, &s.carrier_code, &s.tracking_number).await?;
            out.push(ShipmentTimeline {
                shipment: Some(render::shipment(&s)),
                events: events.iter().map(render::event).collect(),
            });
        }
        Ok(out)
    }
}
