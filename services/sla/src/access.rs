//! Who may call what on this port (SPEC §9), the one table the kit's layer enforces.
//! Timers are scheduled and changed only by the services that own cases with clocks; a
//! service sees and changes only its own timers (checked by the handlers). Agents read
//! and replay, arbitrators read breaches, and only an admin loads a calendar year.

use kit::auth::{
    Role::{Agent, Arbitrator, Buyer, Merchant},
    Rule, rule,
};

const SERVICE: &str = "aftersales.sla.v1.SlaService";
/// The services whose cases run on clocks.
const OWNERS: &[&str] = &[
    "returns",
    "repairs",
    "refunds",
    "complaints",
    "satisfaction",
];
/// Every aftersales service (logistics computes working-day deadlines too).
const ALL_SERVICES: &[&str] = &[
    "returns",
    "repairs",
    "refunds",
    "complaints",
    "satisfaction",
    "logistics",
];

/// The access table of the sla port.
pub const ACCESS: &[Rule] = &[
    rule(SERVICE, "ScheduleTimer", &[], OWNERS),
    rule(SERVICE, "BatchScheduleTimers", &[], OWNERS),
    rule(SERVICE, "CancelTimer", &[], OWNERS),
    rule(SERVICE, "RescheduleTimer", &[], OWNERS),
    rule(SERVICE, "PauseTimer", &[], OWNERS),
    rule(SERVICE, "ResumeTimer", &[], OWNERS),
    rule(SERVICE, "GetTimer", &[Agent], OWNERS),
    rule(SERVICE, "ListTimers", &[Agent], OWNERS),
    rule(SERVICE, "ListDeadLetters", &[Agent], OWNERS),
    rule(SERVICE, "ReplayDeadLetter", &[Agent], OWNERS),
    // compliance reporting: the scorecard counts breaches
    rule(SERVICE, "ListBreaches", &[Agent, Arbitrator], OWNERS),
    rule(
        SERVICE,
        "GetCalendar",
        &[Buyer, Merchant, Agent, Arbitrator],
        ALL_SERVICES,
    ),
    rule(
        SERVICE,
        "ComputeDeadline",
        &[Buyer, Merchant, Agent, Arbitrator],
        ALL_SERVICES,
    ),
    rule(SERVICE, "UpsertCalendarYear", &[], &[]),
];
