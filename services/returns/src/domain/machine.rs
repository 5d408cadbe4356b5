//! The state machine of SPEC §3. A transition takes a request and a command and returns
//! the request after it together with the effects it causes (clocks, refunds,
//! shipments, events, notifications); the caller writes them in one transaction. A
//! command the current state does not allow is refused and changes nothing.
//!
//! This file holds the vocabulary (commands, effects, events, refusals) and [`apply`];
//! the rules of each group of steps live beside it: `review` (the merchant's review, the
//! buyer's revisions, appeals, rulings and their escalation), `goods` (parcels both
//! ways, inspection, confirmation), `transit` (a parcel the carrier loses, returns or
//! does not deliver in time) and `money` (refunds, their problems, lateness).
//!
//! Who is told (SPEC §9): the buyer at every change of state (a refund settling is
//! announced by refunds, which tells the buyer of the money, so not here too); the
//! merchant whenever it must act or its silence (or the buyer's) decided something; the
//! platform desk whenever a clock ran out with nobody else left to act.

use chrono::{DateTime, Utc};

mod change;
mod goods;
mod money;
mod review;
mod transit;

use super::{
    case::{
        Address, Case, DisputeOrigin, Evidence, ParcelCause, Party, RefundProblemKind, Shipping,
    },
    clocks::ClockKind,
    kinds::{Kind, State},
    platform_policy::PackagingDamage,
    shipping::Outlay,
};

pub use super::lateness::late_days;
use change::Change;

/// What a refund requested by a return pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPurpose {
    Goods,
    ShippingFee,
    ShippingInsurance,
    LatePenalty,
}

impl Leg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Return => "return",
            Self::Replacement => "replacement",
        }
    }
}

impl RefundPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Goods => "goods",
            Self::ShippingFee => "shipping_fee",
            Self::ShippingInsurance => "shipping_insurance",
            Self::LatePenalty => "late_penalty",
        }
    }
}

/// Which leg a shipment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    Return,
    Replacement,
}

/// A domain event to publish (its payload is built from the request after the change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Approved {
        auto: bool,
    },
    Rejected,
    Revised,
    Cancelled {
        reason: String,
    },
    DisputeOpened {
        origin: DisputeOrigin,
        by: Party,
        statement: String,
        evidence: Vec<Evidence>,
    },
    Shipped,
    Inspected {
        passed: bool,
        auto: bool,
    },
    ReplacementShipped,
    Overdue,
    Completed {
        auto: bool,
    },
    Closed {
        reason: String,
    },
    /// A parcel took the lost-parcel path (its problem is on the parcel).
    ParcelLost {
        leg: Leg,
    },
    /// The platform desk must look.
    Escalated {
        cause: &'static str,
        detail: String,
    },
}

/// Something a transition causes outside the request's own row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `case.clock` starts.
    StartClock,
    /// The clock with this sequence number stops (its timer is cancelled).
    StopClock {
        seq: u32,
    },
    /// Ask the refunds service for money.
    RequestRefund {
        purpose: RefundPurpose,
        amount_minor: i64,
    },
    /// Register a parcel with logistics.
    RegisterShipment {
        leg: Leg,
    },
    Publish(Event),
    Notify {
        to: Party,
        template: &'static str,
    },
}

/// A command to the machine.
#[derive(Clone, Debug)]
pub enum Command {
    Approve {
        address: Option<Address>,
        carriers: Vec<String>,
        note: String,
        auto: bool,
    },
    Reject {
        reason: String,
        evidence: Vec<Evidence>,
    },
    Cancel {
        reason: String,
    },
    /// Eligibility was decided again by the caller; these are the new values.
    Revise {
        kind: Kind,
        reason: super::kinds::Reason,
        quantity: u32,
        description: String,
        evidence: Vec<Evidence>,
        exchange_sku: String,
        rule: String,
        window_end: Option<DateTime<Utc>>,
        line_amount_minor: i64,
        /// Who pays the return shipping under the new reason.
        shipping: Shipping,
    },
    Appeal {
        statement: String,
        evidence: Vec<Evidence>,
    },
    SubmitShipment {
        carrier: String,
        tracking: String,
        outlay: Outlay,
        promised: Option<DateTime<Utc>>,
    },
    ReturnDelivered {
        at: DateTime<Utc>,
        shipment: String,
    },
    Inspect {
        passed: bool,
        note: String,
        evidence: Vec<Evidence>,
        auto: bool,
        /// The merchant's finding on the original packaging, with the fee the platform
        /// policy estimates for it: it replaces the buyer's statement.
        packaging: Option<(PackagingDamage, i64)>,
    },
    ShipReplacement {
        carrier: String,
        tracking: String,
        promised: Option<DateTime<Utc>>,
    },
    ReplacementDelivered {
        at: DateTime<Utc>,
        shipment: String,
    },
    Confirm {
        auto: bool,
    },
    RefundRequested {
        refund: String,
    },
    RefundSettled {
        refund: String,
        goods: bool,
        amount_minor: i64,
        at: DateTime<Utc>,
    },
    /// The refund_or_replacement clock ran out.
    Overdue,
    /// The buyer_return_shipment clock ran out.
    ShipBackExpired,
    /// The reject_appeal clock ran out.
    AppealExpired,
    /// The platform's ruling on a dispute. `address` and `carriers` (the merchant's
    /// policy) are told to the buyer when an overturned rejection sends goods back.
    Ruling {
        complaint: String,
        outcome: Outcome,
        address: Option<Address>,
        carriers: Vec<String>,
    },
    /// The dispute_ruling clock ran out.
    RulingOverdue,
    /// The return_address clock ran out.
    AddressOverdue,
    /// The carrier reported a parcel (picked up, moving): the proof of shipment, and
    /// its promised delivery if the shipment carries one.
    ParcelSeen {
        leg: Leg,
        shipment: String,
        promised: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    /// The carrier reported a parcel lost, damaged or refused, or returned it.
    ParcelLost {
        leg: Leg,
        cause: ParcelCause,
        detail: String,
        at: DateTime<Utc>,
    },
    /// A transit clock ran out.
    TransitExpired {
        leg: Leg,
    },
    /// Refunds reports a refund of the request failed or escalated.
    RefundProblem {
        refund: String,
        kind: RefundProblemKind,
        reason: String,
        /// The refund pays for the goods (not shipping, a penalty, ...).
        goods: bool,
        at: DateTime<Utc>,
    },
}

/// Whose claim a ruling upheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The return proceeds to refund or replacement.
    BuyerUpheld,
    /// The request closes.
    MerchantUpheld,
    /// The ruling's remedies say what the buyer gets; the complaints service executes
    /// them (through refunds), so the request closes here without a refund of its own:
    /// refunding the whole line too would pay the buyer twice.
    Partial,
}

impl Command {
    /// The action's name for audit rows and errors.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Approve { auto: true, .. } => "auto_approve",
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::Cancel { .. } => "cancel",
            Self::Revise { .. } => "revise",
            Self::Appeal { .. } => "appeal",
            Self::SubmitShipment { .. } => "submit_shipment",
            Self::ReturnDelivered { .. } => "return_delivered",
            Self::Inspect { auto: true, .. } => "auto_pass_inspection",
            Self::Inspect { .. } => "inspect",
            Self::ShipReplacement { .. } => "ship_replacement",
            Self::ReplacementDelivered { .. } => "replacement_delivered",
            Self::Confirm { auto: true } => "auto_confirm",
            Self::Confirm { .. } => "confirm_replacement",
            Self::RefundRequested { .. } => "refund_requested",
            Self::RefundSettled { .. } => "refund_settled",
            Self::Overdue => "refund_or_replacement_overdue",
            Self::ShipBackExpired => "ship_back_expired",
            Self::AppealExpired => "appeal_window_expired",
            Self::Ruling { .. } => "ruling",
            Self::RulingOverdue => "dispute_ruling_overdue",
            Self::AddressOverdue => "return_address_overdue",
            Self::ParcelSeen { .. } => "parcel_seen",
            Self::ParcelLost {
                cause: ParcelCause::ReturnedToSender,
                ..
            } => "parcel_returned_to_sender",
            Self::ParcelLost { .. } => "parcel_exception",
            Self::TransitExpired { .. } => "transit_expired",
            Self::RefundProblem {
                kind: RefundProblemKind::Failed,
                ..
            } => "refund_failed",
            Self::RefundProblem { .. } => "refund_escalated",
        }
    }
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed in the current state.
    IllegalState { state: State, action: &'static str },
    /// A field the command needs in this situation.
    Invalid { field: &'static str, why: String },
    /// Not possible yet in this state, for the named reason.
    Precondition { reason: &'static str, why: String },
}

/// Applies `cmd` to `case` at `now`.
pub fn apply(
    case: &Case,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<(Case, Vec<Effect>), Refusal> {
    let mut c = Change {
        case: case.clone(),
        effects: Vec::new(),
        from: case.state,
        action: cmd.action(),
    };
    c.case.updated = now;
    c.case.step += 1;
    let c = match cmd {
        Command::Approve {
            address,
            carriers,
            note,
            auto,
        } => review::approve(c, address, carriers, note, auto, now)?,
        Command::Reject { reason, evidence } => review::reject(c, reason, evidence, now)?,
        Command::Cancel { reason } => review::cancel(c, reason, now)?,
        Command::Revise {
            kind,
            reason,
            quantity,
            description,
            evidence,
            exchange_sku,
            rule,
            window_end,
            line_amount_minor,
            shipping,
        } => {
            c.only_in(&[State::Requested, State::Rejected])?;
            let k = &mut c.case;
            (k.kind, k.reason, k.quantity, k.description, k.exchange_sku) =
                (kind, reason, quantity, description, exchange_sku);
            k.evidence.extend(evidence);
            (k.eligibility_rule, k.window_end, k.line_amount_minor) =
                (rule, window_end, line_amount_minor);
            k.rejection = None;
            k.shipping = shipping;
            review::revised(c, now)
        }
        Command::Appeal {
            statement,
            evidence,
        } => review::appeal(c, statement, evidence, now)?,
        Command::AppealExpired => review::appeal_expired(c, now)?,
        Command::Ruling {
            complaint,
            outcome,
            address,
            carriers,
        } => review::ruling(c, complaint, outcome, (address, carriers), now)?,
        Command::RulingOverdue => review::ruling_overdue(c, now)?,
        Command::AddressOverdue => review::address_overdue(c, now)?,
        Command::SubmitShipment {
            carrier,
            tracking,
            outlay,
            promised,
        } => goods::submit_shipment(c, (carrier, tracking, promised), outlay, now)?,
        Command::ReturnDelivered { at, shipment } => goods::return_delivered(c, at, shipment)?,
        Command::Inspect {
            passed,
            note,
            evidence,
            auto,
            packaging,
        } => goods::inspect(c, (passed, note, evidence, auto), packaging, now)?,
        Command::ShipReplacement {
            carrier,
            tracking,
            promised,
        } => goods::ship_replacement(c, (carrier, tracking, promised), now)?,
        Command::ReplacementDelivered { at, shipment } => {
            goods::replacement_delivered(c, at, shipment)?
        }
        Command::Confirm { auto } => goods::confirm(c, auto, now)?,
        Command::ShipBackExpired => goods::ship_back_expired(c, now)?,
        Command::RefundRequested { refund } => money::refund_requested(c, refund),
        Command::RefundSettled {
            refund,
            goods,
            amount_minor,
            at,
        } => money::refund_settled(c, refund, goods, amount_minor, at)?,
        Command::Overdue => money::overdue(c, now)?,
        Command::RefundProblem {
            refund,
            kind,
            reason,
            goods,
            at,
        } => money::refund_problem(c, refund, kind, reason, goods, at)?,
        Command::ParcelSeen {
            leg,
            shipment,
            promised,
            at,
        } => transit::seen(c, leg, shipment, promised, at)?,
        Command::ParcelLost {
            leg,
            cause,
            detail,
            at,
        } => transit::lost(c, leg, cause, detail, at)?,
        Command::TransitExpired { leg } => transit::expired(c, leg, now)?,
    };
    Ok((c.case, c.effects))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod walk;
