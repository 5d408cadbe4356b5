//! A repair order as the rules see it, stored whole as one document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    clocks::ClockKind,
    extension::Extension,
    kinds::State,
    quote::Priced,
    warranty::{Coverage, NotFree},
};

/// A running clock: its due time dated when started (working days on the calendar).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub kind: ClockKind,
    /// Its number: the timer id derives from it, never reused.
    pub seq: u32,
    pub start: DateTime<Utc>,
    pub due: DateTime<Utc>,
}

/// A clock that ran out before its step was done: on the merchant's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub clock: ClockKind,
    pub due: DateTime<Utc>,
}

/// A postal address (the contract's `common.v1.Address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub contact_name: String,
    pub phone: String,
    pub country_code: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub street: String,
    pub postal_code: String,
}

/// A parcel of the repair (the item going in, coming back, or the spare unit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    pub carrier: String,
    pub tracking: String,
    pub shipped: DateTime<Utc>,
    pub delivered: Option<DateTime<Utc>>,
    /// A courier booked through logistics collects it (a door-to-door pickup).
    #[serde(default)]
    pub booked: bool,
}

/// How a purchase filed without its voucher was verified (seed 001 §7.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherCheck {
    /// "order", "payment_record", "logistics_record".
    pub verified_by: Vec<String>,
    pub at: DateTime<Utc>,
}

/// The merchant's diagnosis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub fault: String,
    pub within_warranty: bool,
    pub buyer_caused: bool,
    pub evidence: Vec<String>,
    pub at: DateTime<Utc>,
}

/// A quote and the buyer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub priced: Priced,
    pub note: String,
    pub at: DateTime<Utc>,
    /// Some(true) accepted, Some(false) declined.
    pub accepted: Option<bool>,
    pub decline_reason: String,
    pub decided: Option<DateTime<Utc>>,
    /// The charge of an accepted quote: its stable id once asked, and when it succeeded.
    pub charge_id: Option<String>,
    pub charged: Option<DateTime<Utc>>,
    /// Charges asked for this quote: each attempt has its own id (a gateway idempotent
    /// by id would replay a refused charge forever).
    #[serde(default)]
    pub attempts: u32,
    /// Why the last charge was declined (the gateway's code and message), until one
    /// succeeds.
    #[serde(default)]
    pub charge_failure: String,
}

/// The inspection fee of a declined quote (the merchant's policy), charged once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub charge_id: String,
    pub minor: i64,
    pub charged: Option<DateTime<Utc>>,
    /// The gateway's decline, or its silence past the asks allowed: not asked again
    /// (the desk settles it).
    pub failure: String,
    /// Charge-clock periods that passed with the fee unanswered.
    #[serde(default)]
    pub unanswered: u32,
}

/// One progress step shown to the buyer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub at: DateTime<Utc>,
    pub role: String,
    pub actor_id: String,
    pub stage: String,
    pub message: String,
}

/// A repair order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repair {
    pub id: Uuid,
    /// The human-readable repair number (`WX<day>-<seq>`).
    pub number: String,
    pub state: State,
    pub order_id: String,
    pub order_line_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    /// What the line cost: the late penalty's base.
    pub line_minor: i64,
    pub currency: String,
    pub product_model: String,
    pub fault_description: String,
    pub evidence: Vec<String>,
    /// The buyer reported accidental damage at filing.
    pub buyer_reported_damage: bool,
    /// The warranty at filing, from the platform's facts.
    pub warranty_until: Option<DateTime<Utc>>,
    pub within_warranty: bool,
    /// Why the repair is paid, if it is.
    pub not_free: Option<NotFree>,
    /// The buyer's payment method (the order's): a paid repair is charged to it.
    #[serde(default)]
    pub payment_ref: String,
    /// What declining a quote costs the buyer (the policy's inspection fee, in the
    /// order's currency), and its charge once owed.
    #[serde(default)]
    pub inspection_fee_minor: i64,
    #[serde(default)]
    pub decline_fee: Option<Fee>,
    /// The merchant lends a spare unit (its policy promises one).
    pub spare_unit: bool,
    /// Where the buyer sends the item (the merchant's, on acceptance).
    #[serde(default)]
    pub repair_address: Option<Address>,
    /// Where the item goes back to (the buyer's, or the order's delivery address).
    #[serde(default)]
    pub return_address: Option<Address>,
    pub decline_reason: String,
    /// Why the buyer withdrew it, or why it closed without the item.
    #[serde(default)]
    pub cancel_reason: String,
    /// item_inbound periods that ran out with no parcel on its way: the second closes
    /// the repair.
    #[serde(default)]
    pub item_awaited: u32,
    /// How a purchase filed without its voucher was verified.
    #[serde(default)]
    pub voucher_check: Option<VoucherCheck>,
    pub diagnosis: Option<Diagnosis>,
    pub quote: Option<Quote>,
    pub extension: Option<Extension>,
    pub progress: Vec<Progress>,
    pub inbound: Option<Parcel>,
    pub outbound: Option<Parcel>,
    pub spare: Option<Parcel>,
    /// The spare unit on its way back to the merchant.
    #[serde(default)]
    pub spare_return: Option<Parcel>,
    pub clocks: Vec<Clock>,
    pub clock_seq: u32,
    pub breaches: Vec<Breach>,
    /// The (extended) due time of the repair, once it runs.
    pub repair_due: Option<DateTime<Utc>>,
    /// When the repair_due clock ran out.
    pub overdue_since: Option<DateTime<Utc>>,
    /// Spans the buyer held the repair up (not charged as late).
    pub buyer_delays: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub late_days: u32,
    pub penalty_minor: i64,
    /// 1 for the first repair, +1 per reopen.
    pub round: u32,
    /// This round's item was repaired (its quality check passed); an item that went
    /// back unrepaired (a declined quote) cannot be reopened as a free re-repair.
    #[serde(default)]
    pub repaired: bool,
    pub quality_check_note: String,
    pub auto_accepted: bool,
    pub first_response: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// Transitions applied: keys each step's effects.
    pub step: u32,
}

impl Repair {
    pub fn clock(&self, kind: ClockKind) -> Option<&Clock> {
        self.clocks.iter().find(|k| k.kind == kind)
    }

    /// Free of charge: within warranty and not buyer-caused (at filing or as diagnosed),
    /// and every re-repair.
    pub fn free(&self) -> bool {
        self.round > 1 || self.not_free.is_none()
    }

    /// The charge asked and not answered yet: its id and amount (the accepted quote's,
    /// or a declined one's inspection fee).
    pub fn pending_charge(&self) -> Option<(&str, i64)> {
        if let Some(q) = &self.quote
            && let (State::Quoted, Some(true), Some(id), None) =
                (self.state, q.accepted, &q.charge_id, q.charged)
        {
            return Some((id, q.priced.payable));
        }
        self.open_fee().map(|f| (f.charge_id.as_str(), f.minor))
    }

    /// The inspection fee still being asked.
    pub fn open_fee(&self) -> Option<&Fee> {
        self.decline_fee
            .as_ref()
            .filter(|f| f.charged.is_none() && f.failure.is_empty())
    }

    /// The clock shown as the repair's (and in its notices): the earliest the parties
    /// run, the charge clock (the platform's own) only when it runs alone.
    pub fn shown_clock(&self) -> Option<&Clock> {
        let earliest = |charge: bool| {
            self.clocks
                .iter()
                .filter(move |k| (k.kind == ClockKind::Charge) == charge)
                .min_by_key(|k| (k.due, k.kind))
        };
        earliest(false).or_else(|| earliest(true))
    }

    /// The warranty decision at filing, recorded on the repair.
    pub fn set_coverage(&mut self, c: &Coverage) {
        self.warranty_until = c.until;
        self.within_warranty = c.within;
        self.not_free = c.not_free;
    }
}
