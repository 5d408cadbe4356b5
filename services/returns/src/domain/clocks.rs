//! The clocks of the flow (SPEC §3 table, §9 "no case waits forever"): how long each
//! runs, when it runs out, what its expiry means, and which clocks guard each state.

use std::{sync::LazyLock, time::Duration};

use calendar::BusinessCalendar;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    case::Case,
    kinds::State,
    machine::{Command, Leg},
    policy::Policy,
};

/// Parsed once: the calendar data is compiled in.
static CN: LazyLock<BusinessCalendar> = LazyLock::new(BusinessCalendar::china_mainland);

/// A parcel more than 72 h past its promised delivery is late (seed 002: "物流超过承诺
/// 时效72小时"), and one not delivered by then is treated as lost.
pub const TRANSIT_TOLERANCE: Duration = Duration::from_secs(72 * 3600);

/// How long a merchant that was auto-approved without a return address on its policy
/// has to supply one: the shorter review promise (24 h), since the buyer is waiting.
pub const RETURN_ADDRESS_SPAN: Duration = Duration::from_secs(24 * 3600);

/// The platform's own spans (settings, with these defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformSpans {
    /// How long arbitration has to rule on a dispute before the platform desk is
    /// alerted (`RETURNS_DISPUTE_RULING_SPAN`, default 7 days).
    pub dispute_ruling: Duration,
    /// The transit time assumed when the carrier promised no delivery time
    /// (`RETURNS_DEFAULT_TRANSIT`, default 7 days; the 72 h tolerance comes on top).
    pub default_transit: Duration,
}

impl Default for PlatformSpans {
    fn default() -> Self {
        Self {
            dispute_ruling: Duration::from_secs(7 * 86_400),
            default_transit: Duration::from_secs(7 * 86_400),
        }
    }
}

/// A clock of the flow; its name is the SLA timer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockKind {
    /// The merchant reviews: 48 h (24 h if promised); expiry auto-approves.
    MerchantReview,
    /// The buyer ships back: 3 working days; expiry closes as forfeited.
    BuyerReturnShipment,
    /// The merchant inspects after delivery: 3 working days; expiry passes it.
    MerchantInspection,
    /// Refund or replacement after inspection: 7 working days; expiry makes it late
    /// and escalates it to the platform desk.
    RefundOrReplacement,
    /// The buyer confirms the replacement: 7 days after delivery; expiry confirms.
    ReplacementConfirmation,
    /// The buyer may revise or appeal a rejection: policy days (5); expiry closes.
    RejectAppeal,
    /// Arbitration rules on a dispute: the platform's span (7 days); expiry escalates
    /// to the platform desk.
    DisputeRuling,
    /// The buyer's parcel travels: promised delivery (or the default transit) + 72 h;
    /// expiry takes the lost-parcel path.
    ReturnTransit,
    /// The replacement travels: as the return parcel; expiry refunds the buyer.
    ReplacementTransit,
    /// An auto-approved request waits for the merchant's return address: 24 h; expiry
    /// escalates to the platform desk, which supplies it.
    ReturnAddress,
}

/// How long a clock runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    /// Wall-clock time.
    After(Duration),
    /// Working days on the `cn` calendar.
    WorkingDays(u32),
}

impl ClockKind {
    /// The SLA timer kind.
    /// Who must act before it runs out (the SLA timer's `party` label).
    pub fn party(self) -> &'static str {
        use kit::sla::party::*;
        match self {
            Self::MerchantReview
            | Self::MerchantInspection
            | Self::ReturnAddress
            | Self::RefundOrReplacement => MERCHANT,
            Self::BuyerReturnShipment | Self::ReplacementConfirmation | Self::RejectAppeal => BUYER,
            Self::DisputeRuling => PLATFORM,
            Self::ReturnTransit | Self::ReplacementTransit => CARRIER,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MerchantReview => "merchant_review",
            Self::BuyerReturnShipment => "buyer_return_shipment",
            Self::MerchantInspection => "merchant_inspection",
            Self::RefundOrReplacement => "refund_or_replacement",
            Self::ReplacementConfirmation => "replacement_confirmation",
            Self::RejectAppeal => "reject_appeal",
            Self::DisputeRuling => "dispute_ruling",
            Self::ReturnTransit => "return_transit",
            Self::ReplacementTransit => "replacement_transit",
            Self::ReturnAddress => "return_address",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    pub const ALL: [ClockKind; 10] = [
        Self::MerchantReview,
        Self::BuyerReturnShipment,
        Self::MerchantInspection,
        Self::RefundOrReplacement,
        Self::ReplacementConfirmation,
        Self::RejectAppeal,
        Self::DisputeRuling,
        Self::ReturnTransit,
        Self::ReplacementTransit,
        Self::ReturnAddress,
    ];

    /// Whether the clock gets a reminder at 80 % elapsed (the buyer's ship-back clock:
    /// "reminder before", SPEC §3).
    pub fn reminds(self) -> bool {
        matches!(self, Self::BuyerReturnShipment)
    }

    /// The parcel leg a transit clock times.
    pub fn leg(self) -> Option<Leg> {
        match self {
            Self::ReturnTransit => Some(Leg::Return),
            Self::ReplacementTransit => Some(Leg::Replacement),
            _ => None,
        }
    }
}

/// The clocks a request in `state` may wait under, one of which it always runs (or
/// ran out and was escalated under): SPEC §9, no case waits forever. Final states wait
/// for nothing. Adding a state without a row here does not compile.
pub fn guards(state: State) -> &'static [ClockKind] {
    use ClockKind::*;
    match state {
        State::Requested => &[MerchantReview],
        State::AwaitingReturnShipment => &[BuyerReturnShipment, ReturnAddress],
        State::ReturnInTransit => &[ReturnTransit],
        State::Inspecting => &[MerchantInspection],
        State::Refunding | State::AwaitingReplacement => &[RefundOrReplacement],
        State::ReplacementInTransit => &[ReplacementTransit],
        State::AwaitingBuyerConfirmation => &[ReplacementConfirmation],
        State::Rejected => &[RejectAppeal],
        State::InDispute => &[DisputeRuling],
        State::Completed | State::Cancelled | State::ClosedForfeited | State::Closed => &[],
    }
}

/// How long a parcel shipped at `shipped` has before it is treated as lost: to the
/// carrier's `promised` delivery (or `shipped` + the default transit) plus 72 h, and
/// never less than the 72 h (a promise already past when shipped is not a reason to
/// declare the parcel lost at once).
pub fn transit(
    shipped: DateTime<Utc>,
    promised: Option<DateTime<Utc>>,
    default: Duration,
) -> Duration {
    let tolerance = chrono::Duration::from_std(TRANSIT_TOLERANCE).unwrap_or_default();
    let expected = promised
        .unwrap_or_else(|| shipped + chrono::Duration::from_std(default).unwrap_or_default());
    (expected + tolerance - shipped)
        .to_std()
        .unwrap_or_default()
        .max(TRANSIT_TOLERANCE)
}

/// How long `kind` runs for `c` under the merchant's `policy` and the platform's
/// spans, unless `overridden` by a wall-clock duration (`RETURNS_CLOCK_<KIND>`).
pub fn span(
    kind: ClockKind,
    overridden: Option<Duration>,
    policy: &Policy,
    platform: &PlatformSpans,
    c: &Case,
) -> Span {
    if let Some(d) = overridden {
        return Span::After(d);
    }
    let days = |n: u64| Span::After(Duration::from_secs(n * 86_400));
    match kind {
        ClockKind::MerchantReview => {
            Span::After(Duration::from_secs(policy.review_hours as u64 * 3600))
        }
        ClockKind::BuyerReturnShipment | ClockKind::MerchantInspection => Span::WorkingDays(3),
        ClockKind::RefundOrReplacement => Span::WorkingDays(7),
        ClockKind::ReplacementConfirmation => days(7),
        ClockKind::RejectAppeal => days(policy.reject_appeal_window_days as u64),
        ClockKind::DisputeRuling => Span::After(platform.dispute_ruling),
        ClockKind::ReturnTransit | ClockKind::ReplacementTransit => {
            let parcel = kind.leg().and_then(|leg| c.parcel(leg));
            match parcel {
                Some(p) => Span::After(transit(p.shipped_at, p.promised, platform.default_transit)),
                None => Span::After(platform.default_transit + TRANSIT_TOLERANCE),
            }
        }
        ClockKind::ReturnAddress => Span::After(RETURN_ADDRESS_SPAN),
    }
}

/// When a clock of `span` started at `start` runs out (working days on the `cn`
/// calendar, as the SLA service counts them).
pub fn due(span: &Span, start: DateTime<Utc>) -> DateTime<Utc> {
    match span {
        Span::After(d) => start + chrono::Duration::from_std(*d).unwrap_or_default(),
        Span::WorkingDays(n) => CN.add_working_days(start, *n).value,
    }
}

/// The automatic transition when `kind` runs out (SPEC §3, §9): silence is consent for
/// the merchant's review and inspection, forfeit for the buyer's ship-back, lateness
/// and escalation for the refund or replacement, confirmation for the replacement,
/// closing for the appeal, escalation for a dispute not ruled and an address not
/// given, the lost-parcel path for a parcel not delivered.
pub fn on_expiry(kind: ClockKind, policy: &Policy) -> Command {
    match kind {
        ClockKind::MerchantReview => Command::Approve {
            address: policy.return_address.clone(),
            carriers: policy.carrier_options.clone(),
            note: "auto-approved: the merchant did not review in time".into(),
            auto: true,
        },
        ClockKind::BuyerReturnShipment => Command::ShipBackExpired,
        ClockKind::MerchantInspection => Command::Inspect {
            passed: true,
            note: "auto-passed: the merchant did not inspect in time".into(),
            evidence: Vec::new(),
            auto: true,
            packaging: None,
        },
        ClockKind::RefundOrReplacement => Command::Overdue,
        ClockKind::ReplacementConfirmation => Command::Confirm { auto: true },
        ClockKind::RejectAppeal => Command::AppealExpired,
        ClockKind::DisputeRuling => Command::RulingOverdue,
        ClockKind::ReturnTransit => Command::TransitExpired { leg: Leg::Return },
        ClockKind::ReplacementTransit => Command::TransitExpired {
            leg: Leg::Replacement,
        },
        ClockKind::ReturnAddress => Command::AddressOverdue,
    }
}

#[cfg(test)]
mod tests;
