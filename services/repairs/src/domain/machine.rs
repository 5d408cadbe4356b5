//! The repair's state machine: a command applied to a repair gives the new repair and
//! the effects to cause elsewhere (clocks, notifications, events, a charge, a shipment,
//! the late penalty), or a refusal that changes nothing. No I/O: `transition` writes
//! what this decides.
//!
//! REQUESTED -acknowledge-> ACKNOWLEDGED; either -accept-> ACCEPTED (the item comes in)
//! or -decline-> DECLINED. ACCEPTED -diagnose-> REPAIRING when free, else DIAGNOSED
//! -quote-> QUOTED -accepted and charged-> REPAIRING / -declined-> READY_TO_SHIP
//! (unrepaired). REPAIRING -complete (quality check passed)-> READY_TO_SHIP -ship->
//! SHIPPED -delivered-> AWAITING_ACCEPTANCE -accept or its clock-> COMPLETED, or -reopen->
//! ACCEPTED again (a free re-repair). Before the item is on its way the buyer may cancel
//! (CANCELLED; also when two item_inbound periods pass without a parcel). A spare unit
//! travels beside the repair on legs of its own and comes back after COMPLETED.

use chrono::{DateTime, Utc};

use super::{
    clocks::{ClockKind, Spans},
    kinds::{Party, State},
    quote::{Labour, Part},
    repair::{Address, Repair},
};

mod back;
mod change;
mod expiry;
mod front;
mod spare;
mod work;

use change::Change;

/// Which leg a parcel travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    /// Buyer -> repairer.
    Inbound,
    /// Repairer -> buyer.
    Outbound,
    /// The spare unit, merchant -> buyer.
    SpareOut,
    /// The spare unit back, buyer -> merchant.
    SpareBack,
}

/// What may happen to a repair.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// The merchant's first response.
    Acknowledge,
    Accept {
        spare_unit: bool,
        /// Where the buyer sends the item.
        address: Address,
    },
    Decline {
        reason: String,
    },
    /// The item's parcel to the repairer: the buyer's own, or a pickup logistics
    /// booked (`booked`: registered there already).
    ItemShipped {
        carrier: String,
        tracking: String,
        booked: bool,
    },
    /// The buyer withdraws the request before the item is on its way.
    Cancel {
        reason: String,
    },
    /// The spare unit's parcel to the buyer, and back.
    ShipSpare {
        carrier: String,
        tracking: String,
    },
    ReturnSpare {
        carrier: String,
        tracking: String,
    },
    /// Logistics reports a parcel of `leg` delivered.
    Delivered {
        leg: Leg,
        at: DateTime<Utc>,
    },
    Diagnose {
        fault: String,
        buyer_caused: bool,
        evidence: Vec<String>,
    },
    Quote {
        parts: Vec<Part>,
        labour: Vec<Labour>,
        note: String,
    },
    DecideQuote {
        accept: bool,
        reason: String,
    },
    /// The payment gateway charged the accepted quote (or refused it).
    Charged {
        charge_id: String,
    },
    ChargeFailed {
        charge_id: String,
        /// The gateway's decline, told to the buyer.
        why: String,
    },
    Extend {
        reason: String,
        new_due: DateTime<Utc>,
    },
    Progress {
        role: String,
        actor_id: String,
        stage: String,
        message: String,
    },
    Complete {
        passed: bool,
        note: String,
    },
    ShipBack {
        carrier: String,
        tracking: String,
    },
    AcceptItem,
    Reopen {
        reason: String,
    },
    /// A clock ran out (the SLA service's callback).
    Expired {
        kind: ClockKind,
    },
}

impl Command {
    /// The action's name, for the audit trail and events.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Accept { .. } => "accept",
            Self::Decline { .. } => "decline",
            Self::ItemShipped { booked: true, .. } => "pickup_booked",
            Self::ItemShipped { .. } => "item_shipped",
            Self::Cancel { .. } => "cancel",
            Self::ShipSpare { .. } => "ship_spare",
            Self::ReturnSpare { .. } => "return_spare",
            Self::Delivered {
                leg: Leg::Inbound, ..
            } => "item_delivered",
            Self::Delivered {
                leg: Leg::Outbound, ..
            } => "repaired_item_delivered",
            Self::Delivered {
                leg: Leg::SpareOut, ..
            } => "spare_delivered",
            Self::Delivered { .. } => "spare_returned",
            Self::Diagnose { .. } => "diagnose",
            Self::Quote { .. } => "quote",
            Self::DecideQuote { accept: true, .. } => "accept_quote",
            Self::DecideQuote { .. } => "decline_quote",
            Self::Charged { .. } => "charged",
            Self::ChargeFailed { .. } => "charge_failed",
            Self::Extend { .. } => "extend",
            Self::Progress { .. } => "progress",
            Self::Complete { .. } => "complete",
            Self::ShipBack { .. } => "ship_back",
            Self::AcceptItem => "accept_repaired_item",
            Self::Reopen { .. } => "reopen",
            Self::Expired { .. } => "clock_expired",
        }
    }
}

/// Domain events (published as the contract's messages by `effects`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    StateChanged,
    Quoted,
    Overdue,
    Completed,
}

/// What a transition causes elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Schedule clock `seq` (dated on the repair).
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
    /// Register the parcel of `leg` with logistics.
    RegisterShipment {
        leg: Leg,
    },
    /// Charge the accepted quote through the payment gateway, idempotent by its id (a
    /// call made after the commit, not an outbox row: its answer is the next command).
    Charge {
        charge_id: String,
        minor: i64,
    },
    /// Ask refunds for the late penalty of round `round` (LATE_PENALTY), `days` late,
    /// once.
    RequestPenalty {
        round: u32,
        days: u32,
        minor: i64,
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
    Invalid {
        field: &'static str,
        why: String,
    },
}

/// A new repair's first clocks and notices (`transition` schedules them).
pub fn open(r: &mut Repair, now: DateTime<Utc>, spans: &Spans) -> Vec<Effect> {
    let c = Change::new(r, "create", now, spans)
        .start(ClockKind::FirstResponse)
        .start(ClockKind::FormalAnswer)
        .notify(Party::Merchant, "repair_requested")
        .notify(Party::Buyer, "repair_filed");
    let (after, fx) = c.finish();
    *r = after;
    r.step = 0;
    fx
}

/// Applies `cmd` to `r` at `now` under `spans`.
pub fn apply(
    r: &Repair,
    cmd: Command,
    now: DateTime<Utc>,
    spans: &Spans,
) -> Result<(Repair, Vec<Effect>), Refusal> {
    let c = Change::new(r, cmd.action(), now, spans);
    // the spare unit's legs outlive the repair: it comes back after the end, and its
    // delivery to the buyer may be reported after it
    let spare_leg = matches!(
        cmd,
        Command::ReturnSpare { .. }
            | Command::Delivered {
                leg: Leg::SpareOut | Leg::SpareBack,
                ..
            }
    );
    if r.state.is_final() && !spare_leg && !work::fee_step(r, &cmd) {
        return Err(c.illegal());
    }
    let c = match cmd {
        Command::Acknowledge => front::acknowledge(c)?,
        Command::Accept {
            spare_unit,
            address,
        } => front::accept(c, spare_unit, address)?,
        Command::Decline { reason } => front::decline(c, reason)?,
        Command::ItemShipped {
            carrier,
            tracking,
            booked,
        } => front::item_shipped(c, carrier, tracking, booked)?,
        Command::Cancel { reason } => front::cancel(c, reason)?,
        Command::ShipSpare { carrier, tracking } => spare::ship(c, carrier, tracking)?,
        Command::ReturnSpare { carrier, tracking } => spare::give_back(c, carrier, tracking)?,
        Command::Delivered {
            leg: Leg::Inbound,
            at,
        } => front::item_delivered(c, at)?,
        Command::Delivered {
            leg: Leg::Outbound,
            at,
        } => back::delivered(c, at)?,
        Command::Delivered { leg, at } => spare::delivered(c, leg, at)?,
        Command::Diagnose {
            fault,
            buyer_caused,
            evidence,
        } => work::diagnose(c, fault, buyer_caused, evidence)?,
        Command::Quote {
            parts,
            labour,
            note,
        } => work::quote(c, parts, labour, note)?,
        Command::DecideQuote { accept, reason } => work::decide(c, accept, reason)?,
        Command::Charged { charge_id } => work::charged(c, charge_id)?,
        Command::ChargeFailed { charge_id, why } => work::charge_failed(c, charge_id, why)?,
        Command::Extend { reason, new_due } => work::extend(c, reason, new_due)?,
        Command::Progress {
            role,
            actor_id,
            stage,
            message,
        } => work::progress(c, (role, actor_id), stage, message)?,
        Command::Complete { passed, note } => work::complete(c, passed, note)?,
        Command::ShipBack { carrier, tracking } => back::ship(c, carrier, tracking)?,
        Command::AcceptItem => back::accept(c, false)?,
        Command::Reopen { reason } => back::reopen(c, reason)?,
        Command::Expired { kind } => expiry::expired(c, kind)?,
    };
    Ok(c.finish())
}

#[cfg(test)]
mod tests;
