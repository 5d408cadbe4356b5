//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces.
//! People by role; services by name: complaints reads cases it investigates and repairs
//! reads a merchant's policy (warranty, spare unit); only `sla` delivers timer callbacks.
//! Ownership (a buyer's own case, a merchant's own shop) is checked by the handlers.

use kit::auth::{
    Role::{self, Agent, Arbitrator, Buyer, Merchant},
    Rule, machine, rule,
};

const SERVICE: &str = "aftersales.returns.v1.ReturnsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";
const READERS: &[Role] = &[Buyer, Merchant, Agent, Arbitrator];
const BUYER_STEPS: &[Role] = &[Buyer, Agent];
const MERCHANT_STEPS: &[Role] = &[Merchant, Agent];

/// The access table of the returns port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "UpsertMerchantPolicy", &[Merchant], &[]),
    // a buyer reads a shop's policy before buying; partners never need it
    rule(
        SERVICE,
        "GetMerchantPolicy",
        &[Buyer, Merchant, Agent, Arbitrator],
        &["repairs", "complaints"],
    ),
    rule(SERVICE, "GetReturn", READERS, &["complaints"]),
    rule(SERVICE, "ListReturns", READERS, &["complaints"]),
    rule(SERVICE, "ListReturnAudit", READERS, &["complaints"]),
    rule(SERVICE, "CreateReturn", BUYER_STEPS, &[]),
    rule(SERVICE, "CancelReturn", BUYER_STEPS, &[]),
    rule(SERVICE, "ReviseReturn", BUYER_STEPS, &[]),
    rule(SERVICE, "AppealReturn", BUYER_STEPS, &[]),
    rule(SERVICE, "SubmitReturnShipment", BUYER_STEPS, &[]),
    rule(SERVICE, "ConfirmReplacement", BUYER_STEPS, &[]),
    rule(SERVICE, "ApproveReturn", MERCHANT_STEPS, &[]),
    rule(SERVICE, "RejectReturn", MERCHANT_STEPS, &[]),
    rule(SERVICE, "InspectReturn", MERCHANT_STEPS, &[]),
    rule(SERVICE, "ShipReplacement", MERCHANT_STEPS, &[]),
    // the refund-only list and the fees are public to people; admins alone change them
    rule(
        SERVICE,
        "GetPlatformPolicy",
        READERS,
        &["repairs", "complaints"],
    ),
    rule(SERVICE, "UpdatePlatformPolicy", &[], &[]),
    machine(CALLBACK, "OnTimerEvent", &["sla"]),
];
