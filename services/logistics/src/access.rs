//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces.
//! People by role; services by name: shipments are registered only by the services whose
//! cases ship goods (returns, repairs, and complaints for a reship), pickups booked only
//! by returns and repairs; partners report only for their
//! own carrier, and buyers and merchants read only their own cases' shipments (both
//! checked by the handlers).

use kit::auth::{
    Role::{self, Agent, Arbitrator, Buyer, Merchant, Partner},
    Rule, rule,
};

const SERVICE: &str = "aftersales.logistics.v1.LogisticsService";
/// The services whose cases ship goods.
const CASE_OWNERS: &[&str] = &["returns", "repairs"];
const READERS: &[Role] = &[Buyer, Merchant, Agent, Arbitrator, Partner];
/// Case owners, and complaints, which attaches a case's shipment timeline to a ticket.
const READING_SERVICES: &[&str] = &["returns", "repairs", "complaints"];

/// The access table of the logistics port.
pub const ACCESS: &[Rule] = &[
    // and complaints, whose reship remedies go out as a replacement leg
    rule(
        SERVICE,
        "RegisterShipment",
        &[Agent],
        &["returns", "repairs", "complaints"],
    ),
    rule(SERVICE, "BookPickup", &[Agent], CASE_OWNERS),
    rule(SERVICE, "ReportCarrierEvent", &[Partner, Agent], &[]),
    rule(SERVICE, "GetShipment", READERS, READING_SERVICES),
    rule(SERVICE, "GetShipmentTimeline", READERS, READING_SERVICES),
    rule(SERVICE, "ListShipments", READERS, READING_SERVICES),
    rule(SERVICE, "ListShipmentAudit", READERS, READING_SERVICES),
];
