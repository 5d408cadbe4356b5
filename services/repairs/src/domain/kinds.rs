//! The repair's small vocabularies: its states (the contract's numbers) and the parties
//! it tells.

use serde::{Deserialize, Serialize};

/// Where a repair is (SPEC §5 flow; `aftersales.repairs.v1.RepairState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum State {
    Requested = 1,
    Acknowledged = 2,
    Accepted = 3,
    Declined = 4,
    Diagnosed = 5,
    Quoted = 6,
    Repairing = 7,
    ReadyToShip = 8,
    Shipped = 9,
    AwaitingAcceptance = 10,
    Completed = 11,
    Cancelled = 12,
}

impl State {
    pub const ALL: [Self; 12] = [
        Self::Requested,
        Self::Acknowledged,
        Self::Accepted,
        Self::Declined,
        Self::Diagnosed,
        Self::Quoted,
        Self::Repairing,
        Self::ReadyToShip,
        Self::Shipped,
        Self::AwaitingAcceptance,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn from_i32(v: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == v)
    }

    /// Upper-case name as in the contract, for error details.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Accepted => "ACCEPTED",
            Self::Declined => "DECLINED",
            Self::Diagnosed => "DIAGNOSED",
            Self::Quoted => "QUOTED",
            Self::Repairing => "REPAIRING",
            Self::ReadyToShip => "READY_TO_SHIP",
            Self::Shipped => "SHIPPED",
            Self::AwaitingAcceptance => "AWAITING_ACCEPTANCE",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// No step follows.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Declined | Self::Completed | Self::Cancelled)
    }
}

/// Who is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    Buyer,
    Merchant,
    /// The platform's after-sales desk.
    Desk,
}
