//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces,
//! decided before the methods exist so they open closed: people by role, services by
//! name (complaints reads the repairs it investigates). Ownership (a buyer's own repair,
//! a merchant's own shop's) is the handlers' to check.

use kit::auth::{
    Role::{self, Agent, Arbitrator, Buyer, Merchant},
    Rule, machine, rule,
};

const SERVICE: &str = "aftersales.repairs.v1.RepairsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";
const READERS: &[Role] = &[Buyer, Merchant, Agent, Arbitrator];
const BUYER_STEPS: &[Role] = &[Buyer, Agent];
const MERCHANT_STEPS: &[Role] = &[Merchant, Agent];

/// The access table of the repairs port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "GetRepair", READERS, &["complaints"]),
    rule(SERVICE, "ListRepairs", READERS, &["complaints"]),
    rule(SERVICE, "ListRepairAudit", READERS, &["complaints"]),
    rule(SERVICE, "CreateRepair", BUYER_STEPS, &[]),
    rule(SERVICE, "SubmitRepairShipment", BUYER_STEPS, &[]),
    rule(SERVICE, "BookRepairPickup", BUYER_STEPS, &[]),
    rule(SERVICE, "CancelRepair", BUYER_STEPS, &[]),
    rule(SERVICE, "ReturnSpareUnit", BUYER_STEPS, &[]),
    rule(SERVICE, "AcceptQuote", BUYER_STEPS, &[]),
    rule(SERVICE, "DeclineQuote", BUYER_STEPS, &[]),
    rule(SERVICE, "AcceptRepairedItem", BUYER_STEPS, &[]),
    rule(SERVICE, "ReopenRepair", BUYER_STEPS, &[]),
    rule(SERVICE, "AcknowledgeRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "AcceptRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "DeclineRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "DiagnoseRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "QuoteRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "ExtendRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "ReportRepairProgress", MERCHANT_STEPS, &[]),
    rule(SERVICE, "CompleteRepair", MERCHANT_STEPS, &[]),
    rule(SERVICE, "ShipRepairedItem", MERCHANT_STEPS, &[]),
    rule(SERVICE, "ShipSpareUnit", MERCHANT_STEPS, &[]),
    machine(CALLBACK, "OnTimerEvent", &["sla"]),
];
