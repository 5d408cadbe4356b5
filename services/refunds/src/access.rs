//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces.
//! People by role; services by name: refunds are requested only by the services whose
//! cases carry them (returns, repairs, complaints) and by staff; only `sla` delivers
//! timer callbacks. Ownership (a buyer's own refunds, a merchant's own shop's) is checked
//! by the handlers.

use kit::auth::{
    Role::{self, Agent, Arbitrator, Buyer, Merchant},
    Rule, machine, rule,
};

const SERVICE: &str = "aftersales.refunds.v1.RefundsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";
/// The services whose cases carry refunds.
const CASE_OWNERS: &[&str] = &["returns", "repairs", "complaints"];
const READERS: &[Role] = &[Buyer, Merchant, Agent, Arbitrator];
const STAFF: &[Role] = &[Agent, Arbitrator];

/// The access table of the refunds port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "CreateRefund", STAFF, CASE_OWNERS),
    rule(SERVICE, "GetRefund", READERS, CASE_OWNERS),
    rule(SERVICE, "ListRefunds", READERS, CASE_OWNERS),
    rule(SERVICE, "ListRefundAudit", READERS, CASE_OWNERS),
    rule(SERVICE, "RetryRefund", &[Agent], &[]),
    // the scorecard (satisfaction) reports penalties beside the case owners
    rule(
        SERVICE,
        "ComputeLatePenalty",
        READERS,
        &["returns", "repairs", "complaints", "satisfaction"],
    ),
    // a ruling may have the platform pay first (complaints executes it)
    rule(SERVICE, "RecordPlatformAdvance", STAFF, &["complaints"]),
    rule(SERVICE, "RecordRecovery", &[Agent], &["complaints"]),
    machine(CALLBACK, "OnTimerEvent", &["sla"]),
];
