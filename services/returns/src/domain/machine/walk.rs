//! The machine walked from fresh requests of each kind through every command it knows,
//! asserting over every reachable transition what SPEC §9 promises: no request waits
//! forever (every non-final state runs a clock that guards it, whose expiry the state
//! accepts), final states leave no clock behind, the buyer hears of every change of
//! state, the merchant of every decision its (or the buyer's) silence made, the
//! platform desk of every escalation, and no step tells one party the same thing twice.

use std::collections::{BTreeSet, HashSet, VecDeque};

use chrono::Duration;

use super::*;
use crate::domain::{
    case::{LostOutcome, RefundProblemKind},
    clocks::{guards, on_expiry},
    fixture::case,
    policy::Policy,
};

fn address() -> Option<Address> {
    Some(Address {
        city: "Hangzhou".into(),
        ..Address::default()
    })
}

/// Every command, with values that fit `c`.
fn commands(c: &Case) -> Vec<Command> {
    let approve = |address: Option<Address>, auto| Command::Approve {
        address,
        carriers: vec!["sf".into()],
        note: String::new(),
        auto,
    };
    let ruling = |outcome| Command::Ruling {
        complaint: "complaints/1".into(),
        outcome,
        address: address(),
        carriers: Vec::new(),
    };
    let at = c.updated + Duration::hours(1);
    let mut all = vec![
        approve(address(), false),
        approve(address(), true),
        approve(None, true),
        Command::Reject {
            reason: "worn".into(),
            evidence: Vec::new(),
        },
        Command::Cancel {
            reason: String::new(),
        },
        Command::Revise {
            kind: c.kind,
            reason: c.reason,
            quantity: c.quantity,
            description: c.description.clone(),
            evidence: Vec::new(),
            exchange_sku: String::new(),
            rule: c.eligibility_rule.clone(),
            window_end: None,
            line_amount_minor: c.line_amount_minor,
            shipping: c.shipping.clone(),
        },
        Command::Appeal {
            statement: "not worn".into(),
            evidence: Vec::new(),
        },
        Command::AppealExpired,
        ruling(Outcome::BuyerUpheld),
        ruling(Outcome::MerchantUpheld),
        ruling(Outcome::Partial),
        Command::RulingOverdue,
        Command::AddressOverdue,
        Command::SubmitShipment {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            outlay: Outlay::default(),
            promised: None,
        },
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: Vec::new(),
            auto: false,
            packaging: None,
        },
        Command::Inspect {
            passed: true,
            note: String::new(),
            evidence: Vec::new(),
            auto: true,
            packaging: None,
        },
        Command::Inspect {
            passed: false,
            note: "used".into(),
            evidence: vec![Evidence::default()],
            auto: false,
            packaging: None,
        },
        Command::ShipReplacement {
            carrier: "sf".into(),
            tracking: "SF2".into(),
            promised: Some(at + Duration::days(2)),
        },
        Command::Confirm { auto: false },
        Command::Confirm { auto: true },
        Command::RefundRequested {
            refund: "refunds/g".into(),
        },
        Command::RefundSettled {
            refund: "refunds/g".into(),
            goods: true,
            amount_minor: c.line_amount_minor,
            at,
        },
        Command::RefundSettled {
            refund: "refunds/s".into(),
            goods: false,
            amount_minor: 1,
            at,
        },
        Command::RefundProblem {
            refund: "refunds/g".into(),
            kind: RefundProblemKind::Failed,
            reason: "declined".into(),
            goods: true,
            at,
        },
        Command::RefundProblem {
            refund: "refunds/g".into(),
            kind: RefundProblemKind::Escalated,
            reason: "retries exhausted".into(),
            goods: true,
            at,
        },
        Command::Overdue,
        Command::ShipBackExpired,
    ];
    for leg in [Leg::Return, Leg::Replacement] {
        all.push(Command::ParcelSeen {
            leg,
            shipment: "shipments/1".into(),
            promised: Some(at + Duration::days(1)),
            at,
        });
        for cause in [ParcelCause::Exception, ParcelCause::ReturnedToSender] {
            all.push(Command::ParcelLost {
                leg,
                cause,
                detail: "reported by the carrier".into(),
                at,
            });
        }
        all.push(Command::TransitExpired { leg });
    }
    all.push(Command::ReturnDelivered {
        at,
        shipment: "shipments/1".into(),
    });
    all.push(Command::ReplacementDelivered {
        at,
        shipment: "shipments/2".into(),
    });
    all
}

/// What makes two requests different to the rules walked here.
fn shape(c: &Case) -> String {
    let seen = |p: &Option<crate::domain::case::Parcel>| {
        p.as_ref().map(|p| {
            (
                p.carrier_seen.is_some(),
                p.problem.as_ref().map(|x| x.outcome),
            )
        })
    };
    format!(
        "{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{}|{}|{}",
        c.state,
        c.kind,
        c.clock.as_ref().map(|k| (k.kind, k.escalated.is_some())),
        c.dispute_origin,
        c.approval
            .as_ref()
            .is_some_and(|a| a.return_address.is_some()),
        seen(&c.return_parcel),
        seen(&c.replacement_parcel),
        c.refund_problems.len().min(2),
        c.refunds.names.len().min(2),
        c.overdue_since.is_some(),
    )
}

fn notices(fx: &[Effect]) -> Vec<(Party, &'static str)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify { to, template } => Some((*to, *template)),
            _ => None,
        })
        .collect()
}

/// Checks one transition `before` -> `after` caused by `action`.
fn check(before: &Case, after: &Case, fx: &[Effect], action: &str) {
    let at = format!(
        "{action}: {} -> {}",
        before.state.as_str(),
        after.state.as_str()
    );
    let told = notices(fx);
    if after.state.is_terminal() {
        assert!(after.clock.is_none(), "{at}: a final state keeps no clock");
    } else {
        let k = after
            .clock
            .as_ref()
            .unwrap_or_else(|| panic!("{at}: waits without a clock"));
        assert!(
            guards(after.state).contains(&k.kind),
            "{at}: {} does not guard {}",
            k.kind.as_str(),
            after.state.as_str()
        );
        if k.escalated.is_none() {
            // the clock's expiry has its action in this state
            let policy = Policy {
                return_address: address(),
                ..Policy::default()
            };
            let expiry = on_expiry(k.kind, &policy);
            let name = expiry.action();
            assert!(
                apply(after, expiry, after.updated).is_ok(),
                "{at}: the expiry of {} ({name}) is refused",
                k.kind.as_str()
            );
        }
        let newly_escalated = k.escalated.is_some()
            && before
                .clock
                .as_ref()
                .is_none_or(|b| b.seq != k.seq || b.escalated.is_none());
        if newly_escalated {
            assert!(
                told.iter().any(|(p, _)| *p == Party::Platform),
                "{at}: escalated without telling the platform desk"
            );
        }
    }
    // refunds announces a settled refund to the buyer; returns does not repeat it
    let announced_by_refunds = action == "refund_settled";
    if after.state != before.state && !announced_by_refunds {
        assert!(
            told.iter().any(|(p, _)| *p == Party::Buyer),
            "{at}: the buyer is not told"
        );
    }
    if announced_by_refunds {
        assert!(
            !told.iter().any(|(p, _)| *p == Party::Buyer),
            "{at}: the settled refund is announced twice"
        );
    }
    let silent = [
        "auto_approve",
        "auto_pass_inspection",
        "ship_back_expired",
        "refund_or_replacement_overdue",
    ];
    if silent.contains(&action) {
        assert!(
            told.iter().any(|(p, _)| *p == Party::Merchant),
            "{at}: silence decided and the merchant is not told"
        );
    }
    let distinct: HashSet<_> = told.iter().map(|(p, t)| (format!("{p:?}"), *t)).collect();
    assert_eq!(distinct.len(), told.len(), "{at}: told twice: {told:?}");
}

#[test]
fn no_request_waits_forever_and_every_step_tells_whom_it_concerns() {
    let mut queue: VecDeque<(Case, u32)> = [Kind::ReturnRefund, Kind::Exchange, Kind::RefundOnly]
        .into_iter()
        .map(|k| (case(k), 0))
        .collect();
    let mut visited = HashSet::new();
    let mut states = BTreeSet::new();
    let mut clocks = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    while let Some((c, depth)) = queue.pop_front() {
        if !visited.insert(shape(&c)) || depth > 16 {
            continue;
        }
        states.insert(c.state as i32);
        if let Some(k) = &c.clock {
            clocks.insert(k.kind.as_str());
        }
        for p in [&c.return_parcel, &c.replacement_parcel]
            .into_iter()
            .flatten()
        {
            if let Some(x) = &p.problem {
                outcomes.insert(x.outcome.as_str());
            }
        }
        for cmd in commands(&c) {
            let action = cmd.action();
            let now = c.updated + Duration::hours(1);
            if let Ok((after, fx)) = apply(&c, cmd, now) {
                check(&c, &after, &fx, action);
                assert_eq!(after.step, c.step + 1, "{action}: a step is counted");
                queue.push_back((after, depth + 1));
            }
        }
    }
    assert_eq!(
        states.len(),
        State::ALL.len(),
        "every state is reached: {states:?}"
    );
    assert_eq!(
        clocks.len(),
        ClockKind::ALL.len(),
        "every clock runs: {clocks:?}"
    );
    let all_outcomes = [
        LostOutcome::SellerBearsRisk,
        LostOutcome::RefundNotReceived,
        LostOutcome::ShipAgain,
        LostOutcome::Dispute,
        LostOutcome::AwaitingCarrier,
    ];
    assert_eq!(outcomes.len(), all_outcomes.len(), "{outcomes:?}");
}
