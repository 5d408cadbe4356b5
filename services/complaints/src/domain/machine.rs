//! The complaint's state machine: a command applied to a ticket gives the new ticket
//! and the effects to cause elsewhere (clocks, notifications, events, refunds), or a
//! refusal that changes nothing. No I/O: `transition` writes what this decides.
//!
//! OPEN -claim-> INVESTIGATING -request evidence-> AWAITING_EVIDENCE -merchant's
//! evidence or its deadline-> INVESTIGATING -propose-> PROPOSED -accepted-> EXECUTING /
//! -declined or unanswered-> ARBITRATING -ruling-> EXECUTING (RESOLVED when nothing is
//! owed) -every remedy done-> RESOLVED -close-> CLOSED.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{
    clocks::{ClockKind, Spans},
    kinds::{Execution, Liability, Outcome, Party, State, State::*},
    ticket::{Evidence, Remedy, Ticket},
};

mod change;
mod closing;
mod decide;
mod evidence;
mod expiry;
mod money;
mod ownership;
mod reship;

pub use reship::parcel_reference;

use change::Change;

/// Who acts, as far as the rules care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// "buyer", "merchant", "agent", "arbitrator", "admin", "service".
    pub role: String,
    pub id: String,
    /// The expert groups it belongs to (an escalated ticket is ruled only by its group).
    pub groups: Vec<String>,
}

impl Actor {
    fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// What may happen to a ticket.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// The first agent who takes it owns it (seed 002).
    Claim {
        agent: String,
    },
    /// The owner (or an admin, with a reason) hands it to another agent.
    Transfer {
        by: Actor,
        to: String,
        reason: String,
    },
    RequestEvidence {
        by: Actor,
        text: String,
        deadline: Option<Duration>,
    },
    SubmitEvidence {
        by: Actor,
        statement: String,
        evidence: Vec<Evidence>,
    },
    Propose {
        by: Actor,
        summary: String,
        remedies: Vec<Remedy>,
    },
    Respond {
        accept: bool,
        comment: String,
    },
    Rule {
        by: Actor,
        basis: String,
        liability: Liability,
        outcome: Outcome,
        remedies: Vec<Remedy>,
        summary: String,
        /// The merchant's money remedies paid first by the platform (seed 000 §一(六)).
        pays_first: bool,
    },
    Escalate {
        group: String,
        reason: String,
        automatic: bool,
    },
    /// A clock ran out (the SLA service's callback).
    Expired {
        kind: ClockKind,
    },
    /// Refunds recorded the refund of remedy `remedy`.
    RefundRequested {
        remedy: String,
        refund: String,
    },
    RefundSettled {
        refund: String,
    },
    RefundFailed {
        refund: String,
    },
    /// A non-money remedy carried out (or failed), with what executed it.
    RecordExecution {
        remedy: String,
        execution: Execution,
        reference: String,
    },
    /// The parcel of reship `remedy` was sent.
    ReshipShipped {
        remedy: String,
        carrier: String,
        tracking: String,
    },
    /// Logistics reports a reship's parcel delivered (at the carrier's time, if known).
    ParcelDelivered {
        carrier: String,
        tracking: String,
        at: Option<DateTime<Utc>>,
    },
    /// The carrier reports a problem with a reship's parcel (damaged, lost, address
    /// unknown): not final, the parcel may still arrive.
    ParcelException {
        carrier: String,
        tracking: String,
    },
    /// Logistics reports a reship's parcel sent back: it will not arrive.
    ParcelReturned {
        carrier: String,
        tracking: String,
    },
    Close {
        cause: String,
        summary: String,
    },
    /// The follow-up visit after closure (once).
    FollowUp {
        agent: String,
        satisfaction: u32,
        resolved: bool,
        comment: String,
    },
}

impl Command {
    /// The action's name, for the audit trail and events.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Claim { .. } => "claim",
            Self::Transfer { .. } => "transfer",
            Self::RequestEvidence { .. } => "request_evidence",
            Self::SubmitEvidence { .. } => "submit_evidence",
            Self::Propose { .. } => "propose",
            Self::Respond { accept: true, .. } => "accept_proposal",
            Self::Respond { .. } => "decline_proposal",
            Self::Rule { .. } => "rule",
            Self::Escalate { .. } => "escalate",
            Self::Expired { kind } => match kind {
                ClockKind::Resolution => "resolution_breached",
                ClockKind::FirstResponse => "first_response_breached",
                ClockKind::NextUpdate => "next_update_breached",
                ClockKind::Execution => "execution_breached",
                ClockKind::Closing => "closing_breached",
                ClockKind::MerchantEvidence => "evidence_deadline_passed",
                ClockKind::ProposalResponse => "proposal_unanswered",
            },
            Self::RefundRequested { .. } => "refund_requested",
            Self::RefundSettled { .. } => "refund_settled",
            Self::RefundFailed { .. } => "refund_failed",
            Self::RecordExecution { .. } => "record_execution",
            Self::ReshipShipped { .. } => "reship_shipped",
            Self::ParcelDelivered { .. } => "parcel_delivered",
            Self::ParcelException { .. } => "parcel_exception",
            Self::ParcelReturned { .. } => "parcel_returned",
            Self::Close { .. } => "close",
            Self::FollowUp { .. } => "follow_up",
        }
    }
}

/// Domain events (published as the contract's messages by `effects`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    StateChanged,
    RulingIssued,
    Closed,
}

/// What a transition causes elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Schedule clock `seq` (dated on the ticket).
    StartClock {
        seq: u32,
    },
    /// Cancel clock `seq`.
    StopClock {
        seq: u32,
    },
    Notify {
        to: Party,
        template: &'static str,
    },
    Publish(Event),
    /// Ask refunds to pay remedy `remedy`.
    RequestRefund {
        remedy: String,
    },
    /// The platform paid remedy `remedy` first: refunds records the advance, to recover
    /// from the carrier.
    RecordAdvance {
        remedy: String,
    },
    /// Register reship `remedy`'s parcel with logistics (the case's replacement leg).
    RegisterShipment {
        remedy: String,
    },
}

/// Why a command was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not in this state.
    IllegalState {
        state: State,
        action: &'static str,
    },
    /// A rule of the step, named.
    Precondition {
        reason: &'static str,
        why: String,
    },
    /// Not this caller's to do.
    NotYours(String),
    Invalid {
        field: &'static str,
        why: String,
    },
}

/// Applies `cmd` to `t` at `now` under `spans`.
pub fn apply(
    t: &Ticket,
    cmd: Command,
    now: DateTime<Utc>,
    spans: &Spans,
) -> Result<(Ticket, Vec<Effect>), Refusal> {
    let action = cmd.action();
    let c = Change::new(t, action, now, spans);
    let c = match cmd {
        Command::Claim { agent } => ownership::claim(c, agent)?,
        Command::Transfer { by, to, reason } => ownership::transfer(c, by, to, reason)?,
        Command::RequestEvidence { by, text, deadline } => {
            evidence::request_evidence(c, by, text, deadline)?
        }
        Command::SubmitEvidence {
            by,
            statement,
            evidence,
        } => evidence::submit_evidence(c, by, statement, evidence)?,
        Command::Propose {
            by,
            summary,
            remedies,
        } => decide::propose(c, by, summary, remedies)?,
        Command::Respond { accept, comment } => decide::respond(c, accept, comment)?,
        Command::Rule {
            by,
            basis,
            liability,
            outcome,
            remedies,
            summary,
            pays_first,
        } => decide::rule(
            c,
            by,
            (basis, liability, outcome, summary),
            remedies,
            pays_first,
        )?,
        Command::Escalate {
            group,
            reason,
            automatic,
        } => ownership::escalate(c, group, reason, automatic)?,
        Command::Expired { kind } => expiry::expired(c, kind)?,
        Command::RefundRequested { remedy, refund } => money::requested(c, remedy, refund)?,
        Command::RefundSettled { refund } => money::settled(c, refund)?,
        Command::RefundFailed { refund } => money::failed(c, refund)?,
        Command::RecordExecution {
            remedy,
            execution,
            reference,
        } => money::record(c, remedy, execution, reference)?,
        Command::ReshipShipped {
            remedy,
            carrier,
            tracking,
        } => reship::shipped(c, remedy, carrier, tracking)?,
        Command::ParcelDelivered {
            carrier,
            tracking,
            at,
        } => reship::delivered(c, (carrier, tracking), at)?,
        Command::ParcelException { carrier, tracking } => {
            reship::exception(c, (carrier, tracking))?
        }
        Command::ParcelReturned { carrier, tracking } => reship::returned(c, (carrier, tracking))?,
        Command::Close { cause, summary } => closing::close(c, cause, summary)?,
        Command::FollowUp {
            agent,
            satisfaction,
            resolved,
            comment,
        } => closing::follow_up(c, agent, satisfaction, resolved, comment)?,
    };
    Ok(next_update(c, action).finish())
}

/// The owner's next-update clock runs while the ticket is in the desk's court
/// (INVESTIGATING, ARBITRATING) and owned: started when it gets there, restarted by the
/// owner's own steps, stopped while another party is awaited or once decided.
fn next_update<'a>(c: Change<'a>, action: &str) -> Change<'a> {
    const OWNER_STEPS: [&str; 3] = ["claim", "transfer", "escalate"];
    let runs = matches!(c.t.state, Investigating | Arbitrating) && c.t.owner.is_some();
    let running = c.t.clock(ClockKind::NextUpdate).is_some();
    match (runs, running) {
        (false, true) => c.stop(ClockKind::NextUpdate),
        (true, false) => c.start(ClockKind::NextUpdate),
        (true, true) if OWNER_STEPS.contains(&action) => c.start(ClockKind::NextUpdate),
        _ => c,
    }
}

/// A new ticket's clocks: resolution and first response (`transition` schedules them).
pub fn open(t: &mut Ticket, now: DateTime<Utc>, spans: &Spans) -> Vec<Effect> {
    let mut c = Change::new(t, "open", now, spans);
    c = c
        .start(ClockKind::Resolution)
        .start(ClockKind::FirstResponse);
    c = c
        .notify(Party::Buyer, "complaint_opened")
        .notify(Party::Desk, "complaint_to_claim");
    let (after, fx) = c.finish();
    *t = after;
    t.step = 0;
    fx
}

/// The remedies of a proposal or ruling, numbered within the ticket.
fn numbered(t: &Ticket, remedies: Vec<Remedy>) -> Vec<Remedy> {
    let base = t.remedies.len();
    remedies
        .into_iter()
        .enumerate()
        .map(|(i, r)| Remedy {
            id: (base + i + 1).to_string(),
            execution: Execution::Pending,
            reference: String::new(),
            done: None,
            ordered: None,
            ..r
        })
        .collect()
}

#[cfg(test)]
mod tests;
