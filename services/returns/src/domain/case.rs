//! A request as the domain sees it: everything the state machine decides on, stored as
//! one document (the store adds the columns lists and constraints need).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    clocks::ClockKind,
    kinds::{Kind, Reason, State},
    platform_policy::PackagingDamage,
    policy::Payer,
};

/// A piece of evidence, by reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub uri: String,
    pub kind: i32,
    pub description: String,
    pub sha256: String,
}

/// A postal address.
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

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    Buyer,
    Merchant,
    Platform,
}

/// The clock running on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub kind: ClockKind,
    /// When it started (the fact's time: request, approval, delivery).
    pub start: DateTime<Utc>,
    /// When it runs out; set by the caller from the clock's span.
    pub due: Option<DateTime<Utc>>,
    /// Bumped for every new clock: part of the SLA timer id, so a stale expiry of an
    /// earlier clock is recognised and ignored.
    pub seq: u32,
    /// Set when it ran out and the request was escalated to the platform desk while it
    /// stays where it is (a dispute not ruled, a late refund or replacement): the wait
    /// goes on under the desk's eyes, and callers see the desk as the one to act.
    #[serde(default)]
    pub escalated: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub return_address: Option<Address>,
    pub carrier_options: Vec<String>,
    pub note: String,
    pub auto_approved: bool,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: String,
    pub evidence: Vec<Evidence>,
    pub at: DateTime<Utc>,
    pub appeal_deadline: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    pub carrier_code: String,
    pub tracking_number: String,
    pub shipment: Option<String>,
    pub shipped_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The carrier's promised delivery, if known: the transit clock runs to it + 72 h.
    #[serde(default)]
    pub promised: Option<DateTime<Utc>>,
    /// When the carrier first reported the parcel: the proof of shipment.
    #[serde(default)]
    pub carrier_seen: Option<DateTime<Utc>>,
    /// Set when the parcel took the lost-parcel path.
    #[serde(default)]
    pub problem: Option<ParcelProblem>,
}

/// What happened to a parcel that took the lost-parcel path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParcelCause {
    /// The carrier reported an exception (lost, damaged, refused).
    Exception = 1,
    /// The carrier returned it to its sender.
    ReturnedToSender = 2,
    /// Not delivered by the promise (or the default transit span) plus 72 h.
    TransitExpired = 3,
}

/// What the request did about a lost parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LostOutcome {
    /// A return parcel the carrier acknowledged: the seller bears the transit risk and
    /// the request proceeds as if inspected and passed.
    SellerBearsRisk,
    /// A replacement the buyer did not receive: refund-only "not received".
    RefundNotReceived,
    /// The return parcel came back to the buyer: ship it again.
    ShipAgain,
    /// A return parcel the carrier never reported: arbitration decides.
    Dispute,
    /// The carrier reported trouble (delay, failed attempt, damage, loss) but the
    /// shipment is not final: it may still be delivered, so both sides and the desk are
    /// told and the transit clock decides.
    AwaitingCarrier,
}

impl LostOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SellerBearsRisk => "seller_bears_risk",
            Self::RefundNotReceived => "refund_not_received",
            Self::ShipAgain => "ship_again",
            Self::Dispute => "dispute",
            Self::AwaitingCarrier => "awaiting_carrier",
        }
    }
}

/// A parcel's trip gone wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelProblem {
    pub cause: ParcelCause,
    pub detail: String,
    pub at: DateTime<Utc>,
    pub outcome: LostOutcome,
}

/// Whether refunds reported a refund failed (the gateway declined) or escalated
/// (retries exhausted, settlement clock ran out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundProblemKind {
    Failed,
    Escalated,
}

impl RefundProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Escalated => "escalated",
        }
    }
}

/// A refund of the request in trouble at the payment gateway. From `since` until
/// `until` (its settlement) the delay is not the merchant's: no late penalty accrues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundProblem {
    pub refund: String,
    pub kind: RefundProblemKind,
    pub reason: String,
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    /// The goods' refund of a refunding request: the delay the merchant is late with is
    /// the gateway's, so it is left out of the days late. A shipping or penalty refund's
    /// problem (or one during a replacement) excuses nothing.
    #[serde(default = "excuses_by_default")]
    pub excuses: bool,
}

/// Problems stored before `excuses` existed were all counted (as they were then).
fn excuses_by_default() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub passed: bool,
    pub note: String,
    pub evidence: Vec<Evidence>,
    pub auto_passed: bool,
    pub at: DateTime<Utc>,
}

/// Who pays the return shipping and how much (seed 001 §6.1: the actual carrier cost
/// plus packaging estimated by the damage degree).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    pub payer: Payer,
    /// What is reimbursed: `carrier_minor + packaging_minor` (0 when the buyer pays).
    pub amount_minor: i64,
    pub basis: String,
    /// The platform policy's cap of a declared carrier cost, fixed at filing.
    pub estimate_minor: i64,
    /// The declared carrier cost, up to the cap.
    #[serde(default)]
    pub carrier_minor: i64,
    /// The packaging fee the platform policy estimates for `damage` (seller pays only).
    #[serde(default)]
    pub packaging_minor: i64,
    #[serde(default)]
    pub damage: Option<PackagingDamage>,
    /// The carrier's receipt of the cost.
    #[serde(default)]
    pub receipt: Option<Evidence>,
}

/// How a request filed without its purchase voucher was verified (seed 001 §7.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherCheck {
    /// "order", "payment_record", "logistics_record".
    pub verified_by: Vec<String>,
    pub at: DateTime<Utc>,
}

/// Refunds of this request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunds {
    pub goods_minor: i64,
    pub shipping_minor: i64,
    pub settled_minor: i64,
    pub names: Vec<String>,
    pub settled: Vec<String>,
    pub settle_time: Option<DateTime<Utc>>,
}

/// Why a dispute was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisputeOrigin {
    Appeal = 1,
    InspectionFailed = 2,
    /// The return parcel's transit clock ran out and the carrier never reported it.
    ParcelUntracked = 3,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: Uuid,
    pub kind: Kind,
    pub state: State,
    pub order_id: String,
    pub order_line_id: String,
    pub quantity: u32,
    pub buyer_id: String,
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    pub reason: Reason,
    pub description: String,
    pub evidence: Vec<Evidence>,
    pub exchange_sku: String,
    pub eligibility_rule: String,
    pub window_end: Option<DateTime<Utc>>,
    /// What the returned units cost: the line's paid amount pro rata.
    pub line_amount_minor: i64,
    pub currency: String,
    pub clock: Option<Clock>,
    /// The last clock sequence number used (timer ids are never reused).
    pub clock_seq: u32,
    pub approval: Option<Approval>,
    pub rejection: Option<Rejection>,
    pub return_parcel: Option<Parcel>,
    pub inspection: Option<Inspection>,
    pub replacement_parcel: Option<Parcel>,
    pub shipping: Shipping,
    pub refunds: Refunds,
    /// Set when the refund_or_replacement clock ran out: the penalty accrues from here.
    pub overdue_since: Option<DateTime<Utc>>,
    /// Fixed when the merchant finally delivered: days late and the penalty owed.
    pub late_days: u32,
    pub penalty_minor: i64,
    pub dispute: Option<String>,
    pub dispute_origin: Option<DisputeOrigin>,
    pub first_response: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// Refunds that failed or were escalated, oldest first.
    #[serde(default)]
    pub refund_problems: Vec<RefundProblem>,
    /// Transitions applied so far: the step a notification belongs to, so each
    /// (request, step, party) is notified once however often a step is replayed.
    #[serde(default)]
    pub step: u32,
    /// Set when filed without the purchase voucher.
    #[serde(default)]
    pub voucher_check: Option<VoucherCheck>,
}

impl Case {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("returns/{}", self.id)
    }

    /// The parcel of `leg`, if shipped.
    pub fn parcel(&self, leg: super::machine::Leg) -> Option<&Parcel> {
        match leg {
            super::machine::Leg::Return => self.return_parcel.as_ref(),
            super::machine::Leg::Replacement => self.replacement_parcel.as_ref(),
        }
    }

    /// The parcel of `leg`, to change.
    pub fn parcel_mut(&mut self, leg: super::machine::Leg) -> Option<&mut Parcel> {
        match leg {
            super::machine::Leg::Return => self.return_parcel.as_mut(),
            super::machine::Leg::Replacement => self.replacement_parcel.as_mut(),
        }
    }

    /// The refund problem still open, if any.
    pub fn open_refund_problem(&self) -> Option<&RefundProblem> {
        self.refund_problems.iter().find(|p| p.until.is_none())
    }
}
