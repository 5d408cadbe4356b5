//! Request kinds, reasons and states. Discriminants are the contract's enum numbers.

use serde::{Deserialize, Serialize};

/// What the buyer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    ReturnRefund = 1,
    Exchange = 2,
    RefundOnly = 3,
}

impl Kind {
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::ReturnRefund,
            2 => Self::Exchange,
            3 => Self::RefundOnly,
            _ => return None,
        })
    }

    /// Whether goods travel back to the merchant.
    pub fn returns_goods(self) -> bool {
        !matches!(self, Self::RefundOnly)
    }
}

/// Why the buyer asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    NoReason = 1,
    QualityDefect = 2,
    NotAsDescribed = 3,
    DamagedInTransit = 4,
    WrongItem = 5,
    WrongSize = 6,
    WrongColour = 7,
    NotReceived = 8,
    DeliveryLate72h = 9,
    NotShippedInTime = 10,
    SeverelyNotAsDescribed = 11,
    MissingParts = 12,
    Counterfeit = 13,
    ReceivedBrokenLowValue = 14,
    CancelledBeforeShipment = 15,
}

/// Which family of rules a reason falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Seven-day no-reason: window from sign-for, not for special goods, buyer pays.
    NoReason,
    /// A quality problem: reasonable-use period, seller pays.
    Quality,
    /// Refund-only: only with RETURN_KIND_REFUND_ONLY, each with its own fact check.
    RefundOnly,
}

impl Reason {
    pub fn from_i32(v: i32) -> Option<Self> {
        use Reason::*;
        Some(match v {
            1 => NoReason,
            2 => QualityDefect,
            3 => NotAsDescribed,
            4 => DamagedInTransit,
            5 => WrongItem,
            6 => WrongSize,
            7 => WrongColour,
            8 => NotReceived,
            9 => DeliveryLate72h,
            10 => NotShippedInTime,
            11 => SeverelyNotAsDescribed,
            12 => MissingParts,
            13 => Counterfeit,
            14 => ReceivedBrokenLowValue,
            15 => CancelledBeforeShipment,
            _ => return None,
        })
    }

    pub fn family(self) -> Family {
        match self as i32 {
            1 => Family::NoReason,
            2..=7 => Family::Quality,
            _ => Family::RefundOnly,
        }
    }

    /// Snake-case name, used in eligibility rule names.
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            NoReason => "no_reason",
            QualityDefect => "quality_defect",
            NotAsDescribed => "not_as_described",
            DamagedInTransit => "damaged_in_transit",
            WrongItem => "wrong_item",
            WrongSize => "wrong_size",
            WrongColour => "wrong_colour",
            NotReceived => "not_received",
            DeliveryLate72h => "delivery_late_72h",
            NotShippedInTime => "not_shipped_in_time",
            SeverelyNotAsDescribed => "severely_not_as_described",
            MissingParts => "missing_parts",
            Counterfeit => "counterfeit",
            ReceivedBrokenLowValue => "received_broken_low_value",
            CancelledBeforeShipment => "cancelled_before_shipment",
        }
    }
}

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Requested = 1,
    AwaitingReturnShipment = 2,
    ReturnInTransit = 3,
    Inspecting = 4,
    Refunding = 5,
    AwaitingReplacement = 6,
    ReplacementInTransit = 7,
    AwaitingBuyerConfirmation = 8,
    Completed = 9,
    Rejected = 10,
    InDispute = 11,
    Cancelled = 12,
    ClosedForfeited = 13,
    Closed = 14,
}

impl State {
    /// Every state, in contract order (the invariant tests walk them all).
    pub const ALL: [State; 14] = [
        State::Requested,
        State::AwaitingReturnShipment,
        State::ReturnInTransit,
        State::Inspecting,
        State::Refunding,
        State::AwaitingReplacement,
        State::ReplacementInTransit,
        State::AwaitingBuyerConfirmation,
        State::Completed,
        State::Rejected,
        State::InDispute,
        State::Cancelled,
        State::ClosedForfeited,
        State::Closed,
    ];

    pub fn from_i16(v: i16) -> Option<Self> {
        use State::*;
        Some(match v {
            1 => Requested,
            2 => AwaitingReturnShipment,
            3 => ReturnInTransit,
            4 => Inspecting,
            5 => Refunding,
            6 => AwaitingReplacement,
            7 => ReplacementInTransit,
            8 => AwaitingBuyerConfirmation,
            9 => Completed,
            10 => Rejected,
            11 => InDispute,
            12 => Cancelled,
            13 => ClosedForfeited,
            14 => Closed,
            _ => return None,
        })
    }

    /// The contract's name, for errors and audit.
    pub fn as_str(self) -> &'static str {
        use State::*;
        match self {
            Requested => "REQUESTED",
            AwaitingReturnShipment => "AWAITING_RETURN_SHIPMENT",
            ReturnInTransit => "RETURN_IN_TRANSIT",
            Inspecting => "INSPECTING",
            Refunding => "REFUNDING",
            AwaitingReplacement => "AWAITING_REPLACEMENT",
            ReplacementInTransit => "REPLACEMENT_IN_TRANSIT",
            AwaitingBuyerConfirmation => "AWAITING_BUYER_CONFIRMATION",
            Completed => "COMPLETED",
            Rejected => "REJECTED",
            InDispute => "IN_DISPUTE",
            Cancelled => "CANCELLED",
            ClosedForfeited => "CLOSED_FORFEITED",
            Closed => "CLOSED",
        }
    }

    /// Nothing moves a request out of these.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Completed | State::Cancelled | State::ClosedForfeited | State::Closed
        )
    }

    /// Terminal without the goods having gone back: the units are free for a new request.
    pub fn releases_units(self) -> bool {
        matches!(
            self,
            State::Cancelled | State::ClosedForfeited | State::Closed
        )
    }
}
