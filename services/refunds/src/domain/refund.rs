//! What a refund is and how it may move: kinds, states, who funds it, which cap of the
//! order line it draws on, and the manual transitions (retry, platform advance).

/// What a refund pays for. The discriminants are the contract's enum numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The goods' price; capped by the line's paid amount.
    Goods = 1,
    /// The shipping fee paid; capped by the line's shipping fee paid.
    ShippingFee = 2,
    /// Compensation for a late merchant (0.5 %/day); once per case.
    LatePenalty = 3,
    /// A shipping-insurance claim; once per case, paid within 24 h.
    ShippingInsurance = 4,
    /// Compensation decided by an agent or a ruling.
    Goodwill = 5,
    /// Return shipping the seller reimburses; once per case, not capped by the line
    /// (the requesting case applies the platform's cap).
    ReturnShipping = 6,
}

/// Which running total of an order line a refund of a kind draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// Goods refunded <= goods paid.
    Goods,
    /// Shipping refunded <= shipping fee paid.
    Shipping,
    /// Compensation (late penalties and goodwill) <= goods paid.
    Compensation,
    /// Not capped by the line (insurance is the insurer's money; once per case instead).
    None,
}

impl Kind {
    /// From the contract's number.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::Goods,
            2 => Self::ShippingFee,
            3 => Self::LatePenalty,
            4 => Self::ShippingInsurance,
            5 => Self::Goodwill,
            6 => Self::ReturnShipping,
            _ => return None,
        })
    }

    /// The line total this kind draws on.
    pub fn cap(self) -> Cap {
        match self {
            Self::Goods => Cap::Goods,
            Self::ShippingFee => Cap::Shipping,
            Self::LatePenalty | Self::Goodwill => Cap::Compensation,
            Self::ShippingInsurance | Self::ReturnShipping => Cap::None,
        }
    }

    /// GOODS and SHIPPING_FEE refund what was paid for a line, so they need one.
    pub fn needs_line(self) -> bool {
        matches!(self, Self::Goods | Self::ShippingFee)
    }

    /// Who bears the cost when the caller does not say (the contract's FundingParty doc).
    pub fn default_funding(self) -> Funding {
        match self {
            Self::Goods | Self::ShippingFee | Self::LatePenalty | Self::ReturnShipping => {
                Funding::Merchant
            }
            Self::ShippingInsurance => Funding::Insurer,
            Self::Goodwill => Funding::Platform,
        }
    }

    /// Snake-case name for logs, notifications and audit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Goods => "goods",
            Self::ShippingFee => "shipping_fee",
            Self::LatePenalty => "late_penalty",
            Self::ShippingInsurance => "shipping_insurance",
            Self::Goodwill => "goodwill",
            Self::ReturnShipping => "return_shipping",
        }
    }
}

/// Where a refund is. The discriminants are the contract's enum numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Recorded; the payout worker submits it.
    Requested = 1,
    /// The gateway accepted the payout; waiting for settlement.
    Submitted = 2,
    /// Paid. Terminal.
    Settled = 3,
    /// Declined definitively by the gateway.
    Failed = 4,
    /// Needs an agent: retries exhausted, or the settlement clock ran out.
    Escalated = 5,
}

impl State {
    /// From the stored number.
    pub fn from_i16(v: i16) -> Option<Self> {
        Some(match v {
            1 => Self::Requested,
            2 => Self::Submitted,
            3 => Self::Settled,
            4 => Self::Failed,
            5 => Self::Escalated,
            _ => return None,
        })
    }

    /// Upper-case name as in the contract, for error details.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Submitted => "SUBMITTED",
            Self::Settled => "SETTLED",
            Self::Failed => "FAILED",
            Self::Escalated => "ESCALATED",
        }
    }
}

/// Who bears the cost in the end. The discriminants are the contract's enum numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Funding {
    /// The merchant.
    Merchant = 1,
    /// The platform.
    Platform = 2,
    /// The carrier.
    Carrier = 3,
    /// The shipping insurer.
    Insurer = 4,
}

impl Funding {
    /// From the contract's number; 0 (unspecified) is `None`.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::Merchant,
            2 => Self::Platform,
            3 => Self::Carrier,
            4 => Self::Insurer,
            _ => return None,
        })
    }
}

/// Who a platform advance is recovered from. The discriminants are the contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoverFrom {
    /// The merchant's after-sales deposit.
    MerchantDeposit = 1,
    /// The carrier.
    Carrier = 2,
}

impl RecoverFrom {
    /// From the contract's number; 0 (unspecified) is `None`.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::MerchantDeposit,
            2 => Self::Carrier,
            _ => return None,
        })
    }
}

/// What a manual retry does, decided from the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Submit again under the same payout id (transient failures or a slow settlement:
    /// the gateway may already hold this payout, so only the same id is safe).
    SamePayout,
    /// Submit under the next payout id: the gateway declined the last one definitively,
    /// so nothing was paid under it and reusing it would only replay the decline.
    NextPayout,
}

/// Whether RetryRefund may act on a refund in `state`.
pub fn retry(state: State) -> Option<Retry> {
    match state {
        State::Escalated => Some(Retry::SamePayout),
        State::Failed => Some(Retry::NextPayout),
        State::Requested | State::Submitted | State::Settled => None,
    }
}

/// Whether the platform may advance the money of a refund funded by `funding`: only a
/// refund someone else owes can be recovered from them.
pub fn advance_allowed(funding: Funding) -> bool {
    matches!(funding, Funding::Merchant | Funding::Carrier)
}

/// The gateway's payout id for refund `id` at submission series `seq`.
pub fn payout_id(id: &uuid::Uuid, seq: i32) -> String {
    format!("rf-{}-{seq}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_draws_on_its_own_cap() {
        assert_eq!(Kind::Goods.cap(), Cap::Goods);
        assert_eq!(Kind::ShippingFee.cap(), Cap::Shipping);
        assert_eq!(Kind::LatePenalty.cap(), Cap::Compensation);
        assert_eq!(Kind::Goodwill.cap(), Cap::Compensation);
        assert_eq!(Kind::ShippingInsurance.cap(), Cap::None);
        assert!(Kind::Goods.needs_line() && Kind::ShippingFee.needs_line());
        assert!(!Kind::LatePenalty.needs_line());
    }

    #[test]
    fn only_stuck_refunds_can_be_retried() {
        assert_eq!(retry(State::Escalated), Some(Retry::SamePayout));
        assert_eq!(retry(State::Failed), Some(Retry::NextPayout));
        for s in [State::Requested, State::Submitted, State::Settled] {
            assert_eq!(retry(s), None, "{s:?}");
        }
    }

    #[test]
    fn advances_only_for_money_someone_else_owes() {
        assert!(advance_allowed(Funding::Merchant));
        assert!(advance_allowed(Funding::Carrier));
        assert!(!advance_allowed(Funding::Platform));
        assert!(!advance_allowed(Funding::Insurer));
    }

    #[test]
    fn payout_ids_are_stable_per_series() {
        let id = uuid::Uuid::nil();
        assert_eq!(payout_id(&id, 1), payout_id(&id, 1));
        assert_ne!(payout_id(&id, 1), payout_id(&id, 2));
        assert!(payout_id(&id, 1).len() <= 64);
    }
}
