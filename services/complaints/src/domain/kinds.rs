//! The complaint's vocabulary: states, priorities, origins, liability, outcomes and
//! remedies. The discriminants are the contract's enum numbers.

use serde::{Deserialize, Serialize};

/// Where a complaint is (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Open = 1,
    Investigating = 2,
    AwaitingEvidence = 3,
    Proposed = 4,
    Arbitrating = 5,
    Executing = 6,
    Resolved = 7,
    Closed = 8,
}

impl State {
    pub const ALL: [Self; 8] = [
        Self::Open,
        Self::Investigating,
        Self::AwaitingEvidence,
        Self::Proposed,
        Self::Arbitrating,
        Self::Executing,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn from_i32(v: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == v)
    }

    /// Upper-case name as in the contract, for error details.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Investigating => "INVESTIGATING",
            Self::AwaitingEvidence => "AWAITING_EVIDENCE",
            Self::Proposed => "PROPOSED",
            Self::Arbitrating => "ARBITRATING",
            Self::Executing => "EXECUTING",
            Self::Resolved => "RESOLVED",
            Self::Closed => "CLOSED",
        }
    }

    /// The decision is made (agreed or ruled): the resolution clock has done its job.
    pub fn decided(self) -> bool {
        matches!(self, Self::Executing | Self::Resolved | Self::Closed)
    }
}

/// The channel of tickets the platform raises itself (returns' disputes).
pub const SYSTEM_CHANNEL: i32 = 8;

/// Handling priority (seed 004): urgent within 24 h, normal within 48 h.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Priority {
    Urgent = 1,
    Normal = 2,
}

impl Priority {
    /// Unset is NORMAL (the contract's default).
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 | 2 => Some(Self::Normal),
            1 => Some(Self::Urgent),
            _ => None,
        }
    }
}

/// What raised the complaint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Buyer = 1,
    ReturnAppeal = 2,
    InspectionDispute = 3,
    ParcelUntracked = 4,
}

/// Who is liable (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Liability {
    Merchant = 1,
    Carrier = 2,
    Platform = 3,
    Buyer = 4,
}

impl Liability {
    pub fn from_i32(v: i32) -> Option<Self> {
        [Self::Merchant, Self::Carrier, Self::Platform, Self::Buyer]
            .into_iter()
            .find(|l| *l as i32 == v)
    }
}

/// Whose claim a ruling upholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    BuyerUpheld = 1,
    MerchantUpheld = 2,
    Partial = 3,
}

impl Outcome {
    pub fn from_i32(v: i32) -> Option<Self> {
        [Self::BuyerUpheld, Self::MerchantUpheld, Self::Partial]
            .into_iter()
            .find(|o| *o as i32 == v)
    }
}

/// A kind of remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemedyKind {
    Refund = 1,
    Reship = 2,
    Compensation = 3,
    Repair = 4,
}

impl RemedyKind {
    pub fn from_i32(v: i32) -> Option<Self> {
        [Self::Refund, Self::Reship, Self::Compensation, Self::Repair]
            .into_iter()
            .find(|k| *k as i32 == v)
    }

    /// Paid through refunds (the complaint follows the refund to its settlement).
    pub fn is_money(self) -> bool {
        matches!(self, Self::Refund | Self::Compensation)
    }
}

/// Execution state of one remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Execution {
    Pending = 0,
    InProgress = 1,
    Done = 2,
    Failed = 3,
}

/// Who is told or acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    Buyer,
    Merchant,
    /// The ticket's owner, or the desk's queue while it has none.
    Owner,
    /// An agent named by the step (a transfer's new owner).
    Agent,
    /// The platform's complaint desk (its queue).
    Desk,
}
