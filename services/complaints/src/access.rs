//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces.
//! Disputes arrive as events, not calls, so no service files tickets; satisfaction
//! reads the figures for scorecards; only `sla` delivers timer callbacks.
//! Ownership (a buyer's own ticket, a merchant's own shop's) is the handlers' to check.

use kit::auth::{
    Role::{self, Agent, Arbitrator, Buyer, Merchant},
    Rule, machine, rule,
};

const SERVICE: &str = "aftersales.complaints.v1.ComplaintsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";
const READERS: &[Role] = &[Buyer, Merchant, Agent, Arbitrator];
const DESK: &[Role] = &[Agent, Arbitrator];

/// The access table of the complaints port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "CreateComplaint", &[Buyer, Agent], &[]),
    rule(SERVICE, "GetComplaint", READERS, &[]),
    rule(SERVICE, "ListComplaints", READERS, &[]),
    rule(SERVICE, "ListComplaintAudit", READERS, &[]),
    // agents own tickets; arbitrators rule on them
    rule(SERVICE, "ClaimComplaint", &[Agent], &[]),
    rule(SERVICE, "TransferComplaint", &[Agent], &[]),
    rule(SERVICE, "RequestMerchantEvidence", DESK, &[]),
    rule(SERVICE, "SubmitEvidence", &[Buyer, Merchant, Agent], &[]),
    rule(SERVICE, "ProposeResolution", DESK, &[]),
    rule(SERVICE, "RespondToProposal", &[Buyer, Agent], &[]),
    rule(SERVICE, "IssueRuling", &[Arbitrator], &[]),
    // the merchant records its reship's parcel (the handler allows it nothing else)
    rule(
        SERVICE,
        "RecordExecution",
        &[Agent, Arbitrator, Merchant],
        &[],
    ),
    rule(SERVICE, "EscalateComplaint", DESK, &[]),
    rule(SERVICE, "CloseComplaint", DESK, &[]),
    rule(SERVICE, "RecordFollowUp", &[Agent], &[]),
    rule(SERVICE, "GetComplaintStats", DESK, &["satisfaction"]),
    rule(SERVICE, "ListEarlyWarnings", DESK, &[]),
    rule(SERVICE, "ListPublicOutcomes", READERS, &[]),
    machine(CALLBACK, "OnTimerEvent", &["sla"]),
];
