//! ReportCarrierEvent: the gRPC twin of the signed webhook, for partners and agents.

use aftersales_proto::aftersales::logistics::v1::{
    ReportCarrierEventRequest, ReportCarrierEventResponse,
};
use kit::{
    Error,
    auth::{Principal, Role},
};

use super::{Api, own_carrier};
use crate::{ingest, parse};

impl Api {
    /// Parses, checks the partner reports for its own carrier, stores and applies.
    pub(super) async fn report(
        &self,
        who: &Principal,
        r: ReportCarrierEventRequest,
    ) -> kit::Result<ReportCarrierEventResponse> {
        let mut e = parse::carrier_event(&r, &self.settings)?;
        e.reporter_role = who.role.as_str().to_string();
        e.reporter_id = who.id.clone();
        if who.role == Role::Partner && !own_carrier(who, &e.carrier_code) {
            return Err(Error::PermissionDenied(
                "a partner reports only for its own carrier".into(),
            ));
        }
        let (duplicate, shipment) =
            ingest::report(&self.pool, self.settings.late_tolerance, &e).await?;
        Ok(ReportCarrierEventResponse {
            duplicate,
            shipment: shipment.unwrap_or_default(),
        })
    }
}
