//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces,
//! decided before the methods exist so they open closed. Surveys are the buyer's; a
//! merchant sees its own scores (the handlers check whose). Cases reach satisfaction as
//! events; only the SLA service calls in, with a survey's expiry.

use kit::auth::{
    Role::{Agent, Arbitrator, Buyer, Merchant},
    Rule, machine, rule,
};

const SERVICE: &str = "aftersales.satisfaction.v1.SatisfactionService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";

/// The access table of the satisfaction port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "GetSurvey", &[Buyer, Agent], &[]),
    rule(SERVICE, "ListSurveys", &[Buyer, Agent], &[]),
    rule(SERVICE, "SubmitRating", &[Buyer], &[]),
    rule(
        SERVICE,
        "GetAggregates",
        &[Merchant, Agent, Arbitrator],
        &[],
    ),
    rule(
        SERVICE,
        "GetMerchantScorecard",
        &[Merchant, Agent, Arbitrator],
        &[],
    ),
    rule(SERVICE, "ListAlerts", &[Merchant, Agent, Arbitrator], &[]),
    machine(CALLBACK, "OnTimerEvent", &["sla"]),
];
