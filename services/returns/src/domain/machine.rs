//! The state machine of SPEC §3. A transition takes a request and a command and returns
//! the request after it together with the effects it causes (clocks, refunds,
//! shipments, events, notifications); the caller writes them in one transaction. A
//! command the current state does not allow is refused and changes nothing.

use chrono::{DateTime, Utc};

use super::{
    case::{
        Address, Approval, Case, Clock, DisputeOrigin, Evidence, Inspection, Parcel, Party,
        Rejection, Shipping,
    },
    clocks::ClockKind,
    kinds::{Kind, State},
    policy::Payer,
};

/// What a refund requested by a return pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPurpose {
    Goods,
    ShippingFee,
    ShippingInsurance,
    LatePenalty,
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
        cost_minor: Option<i64>,
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
    },
    ShipReplacement {
        carrier: String,
        tracking: String,
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
    /// The platform's ruling on a dispute.
    Ruling {
        complaint: String,
        outcome: Outcome,
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
}

/// Whole days late from `due` to `done`, a started day counting as one.
pub fn late_days(due: DateTime<Utc>, done: DateTime<Utc>) -> u32 {
    let secs = (done - due).num_seconds();
    if secs <= 0 {
        0
    } else {
        (secs as u64).div_ceil(86_400) as u32
    }
}

struct Change {
    case: Case,
    effects: Vec<Effect>,
}

impl Change {
    fn to(mut self, state: State) -> Self {
        self.case.state = state;
        self
    }
    fn start(mut self, kind: ClockKind, start: DateTime<Utc>) -> Self {
        self = self.stop();
        self.case.clock_seq += 1;
        let seq = self.case.clock_seq;
        self.case.clock = Some(Clock {
            kind,
            start,
            due: None,
            seq,
        });
        self.effects.push(Effect::StartClock);
        self
    }
    fn stop(mut self) -> Self {
        if let Some(c) = self.case.clock.take() {
            self.effects.push(Effect::StopClock { seq: c.seq });
        }
        self
    }
    fn emit(mut self, e: Effect) -> Self {
        self.effects.push(e);
        self
    }
    fn publish(self, e: Event) -> Self {
        self.emit(Effect::Publish(e))
    }
    fn notify(self, to: Party, template: &'static str) -> Self {
        self.emit(Effect::Notify { to, template })
    }
}

/// Applies `cmd` to `case` at `now`.
pub fn apply(
    case: &Case,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<(Case, Vec<Effect>), Refusal> {
    use State::*;
    let state = case.state;
    let illegal = |action| Err(Refusal::IllegalState { state, action });
    let mut c = Change {
        case: case.clone(),
        effects: Vec::new(),
    };
    c.case.updated = now;
    let action = cmd.action();
    let c = match cmd {
        Command::Approve {
            address,
            carriers,
            note,
            auto,
        } => {
            if state != Requested {
                return illegal(action);
            }
            if case.kind.returns_goods() && address.is_none() && !auto {
                return Err(Refusal::Invalid {
                    field: "return_address",
                    why: "is required unless REFUND_ONLY".into(),
                });
            }
            c.case.approval = Some(Approval {
                return_address: address,
                carrier_options: carriers,
                note,
                auto_approved: auto,
                at: now,
            });
            c.case.first_response.get_or_insert(now);
            let c = c
                .publish(Event::Approved { auto })
                .notify(Party::Buyer, "return_approved");
            if case.kind.returns_goods() {
                c.to(AwaitingReturnShipment)
                    .stop()
                    .start(ClockKind::BuyerReturnShipment, now)
            } else {
                request_refunds(c.to(Refunding).stop(), now)
            }
        }
        Command::Reject { reason, evidence } => {
            if state != Requested {
                return illegal(action);
            }
            if reason.trim().is_empty() {
                return Err(Refusal::Invalid {
                    field: "reason",
                    why: "is required".into(),
                });
            }
            c.case.rejection = Some(Rejection {
                reason,
                evidence,
                at: now,
                appeal_deadline: None,
            });
            c.case.first_response.get_or_insert(now);
            c.to(Rejected)
                .stop()
                .start(ClockKind::RejectAppeal, now)
                .publish(Event::Rejected)
                .notify(Party::Buyer, "return_rejected")
        }
        Command::Cancel { reason } => {
            if !matches!(
                state,
                Requested | AwaitingReturnShipment | ReturnInTransit | Rejected
            ) {
                return illegal(action);
            }
            c.case.closed = Some(now);
            c.to(Cancelled)
                .stop()
                .publish(Event::Cancelled { reason })
                .notify(Party::Merchant, "return_cancelled")
        }
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
            if !matches!(state, Requested | Rejected) {
                return illegal(action);
            }
            let k = &mut c.case;
            (k.kind, k.reason, k.quantity, k.description, k.exchange_sku) =
                (kind, reason, quantity, description, exchange_sku);
            k.evidence.extend(evidence);
            (k.eligibility_rule, k.window_end, k.line_amount_minor) =
                (rule, window_end, line_amount_minor);
            k.rejection = None;
            k.shipping = shipping;
            c.to(Requested)
                .stop()
                .start(ClockKind::MerchantReview, now)
                .publish(Event::Revised)
                .notify(Party::Merchant, "return_to_review")
        }
        Command::Appeal {
            statement,
            evidence,
        } => {
            if state != Rejected {
                return illegal(action);
            }
            if statement.trim().is_empty() {
                return Err(Refusal::Invalid {
                    field: "statement",
                    why: "is required".into(),
                });
            }
            c.case.dispute_origin = Some(DisputeOrigin::Appeal);
            c.to(InDispute)
                .stop()
                .publish(Event::DisputeOpened {
                    origin: DisputeOrigin::Appeal,
                    by: Party::Buyer,
                    statement,
                    evidence,
                })
                .notify(Party::Merchant, "return_appealed")
        }
        Command::SubmitShipment {
            carrier,
            tracking,
            cost_minor,
        } => {
            if state != AwaitingReturnShipment {
                return illegal(action);
            }
            let options = c
                .case
                .approval
                .as_ref()
                .map(|a| a.carrier_options.clone())
                .unwrap_or_default();
            if !options.is_empty() && !options.iter().any(|o| o.eq_ignore_ascii_case(&carrier)) {
                return Err(Refusal::Invalid {
                    field: "carrier_code",
                    why: format!("must be one of {}", options.join(", ")),
                });
            }
            if let Some(cost) = cost_minor
                && c.case.shipping.payer != Payer::Buyer
            {
                c.case.shipping.amount_minor = cost.min(c.case.shipping.estimate_minor);
            }
            c.case.return_parcel = Some(Parcel {
                carrier_code: carrier,
                tracking_number: tracking,
                shipment: None,
                shipped_at: now,
                delivered_at: None,
            });
            c.to(ReturnInTransit)
                .stop()
                .emit(Effect::RegisterShipment { leg: Leg::Return })
                .publish(Event::Shipped)
                .notify(Party::Merchant, "return_shipped")
        }
        Command::ReturnDelivered { at, shipment } => {
            // A duplicate or a late delivery report finds the request already moved on.
            if state != ReturnInTransit {
                return illegal(action);
            }
            delivered_after_shipping(c.case.return_parcel.as_ref(), at)?;
            if let Some(p) = c.case.return_parcel.as_mut() {
                p.delivered_at = Some(at);
                p.shipment = Some(shipment);
            }
            c.to(Inspecting)
                .start(ClockKind::MerchantInspection, at)
                .notify(Party::Merchant, "return_to_inspect")
                .notify(Party::Buyer, "return_delivered")
        }
        Command::Inspect {
            passed,
            note,
            evidence,
            auto,
        } => {
            if state != Inspecting {
                return illegal(action);
            }
            if !passed && (note.trim().is_empty() || evidence.is_empty()) {
                return Err(Refusal::Invalid {
                    field: "evidence",
                    why: "a failed inspection needs a note and evidence".into(),
                });
            }
            c.case.inspection = Some(Inspection {
                passed,
                note: note.clone(),
                evidence: evidence.clone(),
                auto_passed: auto,
                at: now,
            });
            let c = c.publish(Event::Inspected { passed, auto });
            if !passed {
                let mut c = c.to(InDispute).stop();
                c.case.dispute_origin = Some(DisputeOrigin::InspectionFailed);
                c.publish(Event::DisputeOpened {
                    origin: DisputeOrigin::InspectionFailed,
                    by: Party::Merchant,
                    statement: note,
                    evidence,
                })
                .notify(Party::Buyer, "inspection_failed")
            } else {
                after_pass(c, now)
            }
        }
        Command::ShipReplacement { carrier, tracking } => {
            if state != AwaitingReplacement {
                return illegal(action);
            }
            c.case.replacement_parcel = Some(Parcel {
                carrier_code: carrier,
                tracking_number: tracking,
                shipment: None,
                shipped_at: now,
                delivered_at: None,
            });
            let c = charge_lateness(c, now);
            c.to(ReplacementInTransit)
                .stop()
                .emit(Effect::RegisterShipment {
                    leg: Leg::Replacement,
                })
                .publish(Event::ReplacementShipped)
                .notify(Party::Buyer, "replacement_shipped")
        }
        Command::ReplacementDelivered { at, shipment } => {
            if state != ReplacementInTransit {
                return illegal(action);
            }
            delivered_after_shipping(c.case.replacement_parcel.as_ref(), at)?;
            if let Some(p) = c.case.replacement_parcel.as_mut() {
                p.delivered_at = Some(at);
                p.shipment = Some(shipment);
            }
            c.to(AwaitingBuyerConfirmation)
                .start(ClockKind::ReplacementConfirmation, at)
                .notify(Party::Buyer, "replacement_delivered")
        }
        Command::Confirm { auto } => {
            if !matches!(state, AwaitingBuyerConfirmation | ReplacementInTransit) {
                return illegal(action);
            }
            c.case.closed = Some(now);
            c.to(Completed)
                .stop()
                .publish(Event::Completed { auto })
                .notify(Party::Merchant, "return_completed")
        }
        Command::RefundRequested { refund } => {
            if !c.case.refunds.names.contains(&refund) {
                c.case.refunds.names.push(refund);
            }
            c
        }
        Command::RefundSettled {
            refund,
            goods,
            amount_minor,
            at,
        } => {
            if c.case.refunds.settled.contains(&refund) {
                return illegal(action);
            }
            c.case.refunds.settled.push(refund.clone());
            if !c.case.refunds.names.contains(&refund) {
                c.case.refunds.names.push(refund);
            }
            c.case.refunds.settled_minor += amount_minor;
            c.case.refunds.settle_time = Some(at);
            if goods && state == Refunding {
                c.case.closed = Some(at);
                let c = charge_lateness(c, at);
                c.to(Completed)
                    .stop()
                    .publish(Event::Completed { auto: false })
                    .notify(Party::Buyer, "refund_settled")
            } else {
                c
            }
        }
        Command::Overdue => {
            if !matches!(state, Refunding | AwaitingReplacement) {
                return illegal(action);
            }
            let due = c.case.clock.as_ref().and_then(|k| k.due).unwrap_or(now);
            c.case.overdue_since = Some(due);
            c.publish(Event::Overdue)
                .notify(Party::Merchant, "return_overdue")
        }
        Command::ShipBackExpired => {
            if state != AwaitingReturnShipment {
                return illegal(action);
            }
            c.case.closed = Some(now);
            c.to(ClosedForfeited)
                .stop()
                .publish(Event::Closed {
                    reason: "the goods were not shipped back in time".into(),
                })
                .notify(Party::Buyer, "return_forfeited")
        }
        Command::AppealExpired => {
            if state != Rejected {
                return illegal(action);
            }
            c.case.closed = Some(now);
            c.to(Closed)
                .stop()
                .publish(Event::Closed {
                    reason: "not revised or appealed after the rejection".into(),
                })
                .notify(Party::Buyer, "return_closed")
        }
        Command::Ruling { complaint, outcome } => {
            if state != InDispute {
                return illegal(action);
            }
            c.case.dispute = Some(complaint);
            if outcome != Outcome::BuyerUpheld {
                c.case.closed = Some(now);
                let (reason, template) = match outcome {
                    Outcome::Partial => ("settled by the ruling's remedies", "ruling_partial"),
                    _ => ("the ruling upheld the merchant", "ruling_merchant_upheld"),
                };
                c.to(Closed)
                    .publish(Event::Closed {
                        reason: reason.into(),
                    })
                    .notify(Party::Buyer, template)
            } else {
                let c = c
                    .notify(Party::Buyer, "ruling_buyer_upheld")
                    .notify(Party::Merchant, "ruling_buyer_upheld");
                match case.dispute_origin {
                    // The goods were already inspected: proceed as if it had passed.
                    Some(DisputeOrigin::InspectionFailed) => after_pass(c, now),
                    // The rejection is overturned: proceed as if approved.
                    _ if case.kind.returns_goods() => c
                        .to(AwaitingReturnShipment)
                        .start(ClockKind::BuyerReturnShipment, now),
                    _ => request_refunds(c.to(Refunding), now),
                }
            }
        }
    };
    Ok((c.case, c.effects))
}

/// Refuses a delivery dated before the parcel was handed over (with a day's tolerance
/// for the shipper's clock): a tracking number reused from an old parcel would otherwise
/// count as delivered at once and start the inspection clock already expired.
fn delivered_after_shipping(parcel: Option<&Parcel>, at: DateTime<Utc>) -> Result<(), Refusal> {
    match parcel {
        Some(p) if at < p.shipped_at - chrono::Duration::days(1) => Err(Refusal::Invalid {
            field: "delivered_time",
            why: "the carrier reports a delivery from before this parcel was shipped".into(),
        }),
        _ => Ok(()),
    }
}

/// Inspection passed (or a ruling said so): refund or replacement, on the 7-day clock.
fn after_pass(c: Change, now: DateTime<Utc>) -> Change {
    match c.case.kind {
        Kind::Exchange => c
            .to(State::AwaitingReplacement)
            .stop()
            .start(ClockKind::RefundOrReplacement, now)
            .notify(Party::Merchant, "ship_replacement"),
        _ => request_refunds(c.to(State::Refunding).stop(), now),
    }
}

/// Asks refunds for the goods and, when the seller or the insurance pays the return
/// shipping, for what the buyer spent on it; starts the refund_or_replacement clock.
fn request_refunds(mut c: Change, now: DateTime<Utc>) -> Change {
    let goods = c.case.line_amount_minor;
    c.case.refunds.goods_minor = goods;
    c = c.emit(Effect::RequestRefund {
        purpose: RefundPurpose::Goods,
        amount_minor: goods,
    });
    let shipping = c.case.shipping.amount_minor;
    if shipping > 0 {
        let purpose = match c.case.shipping.payer {
            Payer::Seller => Some(RefundPurpose::ShippingFee),
            Payer::ShippingInsurance => Some(RefundPurpose::ShippingInsurance),
            Payer::Buyer => None,
        };
        if let Some(purpose) = purpose {
            c.case.refunds.shipping_minor = shipping;
            c = c.emit(Effect::RequestRefund {
                purpose,
                amount_minor: shipping,
            });
        }
    }
    c.start(ClockKind::RefundOrReplacement, now)
}

/// The merchant delivers at `done`: when the 7-working-day clock had run out, the days
/// late are fixed and the penalty (0.5 %/day of the line, seed 001 §5.3.1) is requested.
fn charge_lateness(mut c: Change, done: DateTime<Utc>) -> Change {
    let Some(since) = c.case.overdue_since else {
        return c;
    };
    let days = late_days(since, done).max(1);
    let penalty = rules::late_penalty(c.case.line_amount_minor, days, false)
        .map(|p| p.minor)
        .unwrap_or(0);
    (c.case.late_days, c.case.penalty_minor) = (days, penalty);
    if penalty > 0 {
        c = c.emit(Effect::RequestRefund {
            purpose: RefundPurpose::LatePenalty,
            amount_minor: penalty,
        });
    }
    c
}

#[cfg(test)]
mod tests;
