//! The reads: one shipment, the timelines of a shipment, a case or a tracking number,
//! and keyset-paged lists; a partner sees only its own carriers' shipments.

use aftersales_proto::aftersales::logistics::v1::{
    GetShipmentTimelineRequest, GetShipmentTimelineResponse, ListShipmentsRequest,
    ListShipmentsResponse, Shipment, ShipmentTimeline,
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
    pub(super) async fn get(&self, who: &Principal, name: String) -> kit::Result<Shipment> {
        let row = store::get(&self.pool, names::shipment_id(&name)?)
            .await?
            .filter(|s| visible(who, s))
            .ok_or_else(|| not_found(name.clone()))?;
        Ok(render::shipment(&row))
    }

    pub(super) async fn timeline(
        &self,
        who: &Principal,
        r: GetShipmentTimelineRequest,
    ) -> kit::Result<GetShipmentTimelineResponse> {
        let rows = match parse::timeline(&r)? {
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
