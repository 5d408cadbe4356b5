use chrono::Duration as Span;

use super::*;
use crate::domain::{fixture, kinds::RemedyKind, ticket::Escalation};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-03T10:00:00+08:00")
        .unwrap()
        .to_utc()
}

fn spans() -> Spans {
    Spans::default()
}

fn ticket() -> Ticket {
    let mut t = fixture::ticket(t0());
    open(&mut t, t0(), &spans());
    t
}

fn agent(id: &str) -> Actor {
    Actor {
        role: "agent".into(),
        id: id.into(),
        groups: Vec::new(),
    }
}

fn arbitrator(expert: bool) -> Actor {
    let groups = if expert {
        vec!["expert".to_string()]
    } else {
        Vec::new()
    };
    Actor {
        role: "arbitrator".into(),
        id: "arb-1".into(),
        groups,
    }
}

fn at(t: &Ticket, cmd: Command, hours: i64) -> Result<(Ticket, Vec<Effect>), Refusal> {
    apply(t, cmd, t0() + Span::hours(hours), &spans())
}

fn claimed() -> Ticket {
    at(
        &ticket(),
        Command::Claim {
            agent: "cs-1".into(),
        },
        1,
    )
    .unwrap()
    .0
}

fn refund(amount: i64) -> Remedy {
    Remedy {
        id: String::new(),
        kind: RemedyKind::Refund,
        amount_minor: amount,
        borne_by: Some(Liability::Merchant),
        note: String::new(),
        execution: Execution::Pending,
        reference: String::new(),
        done: None,
        ordered: None,
    }
}

fn rule_cmd(by: Actor, remedies: Vec<Remedy>) -> Command {
    Command::Rule {
        by,
        basis: "the photos show the defect".into(),
        liability: Liability::Merchant,
        outcome: Outcome::BuyerUpheld,
        remedies,
        summary: "refund".into(),
        pays_first: false,
    }
}

#[test]
fn a_new_ticket_runs_its_resolution_and_first_response_clocks() {
    let t = ticket();
    let kinds: Vec<ClockKind> = t.clocks.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, [ClockKind::Resolution, ClockKind::FirstResponse]);
    assert_eq!(
        t.clock(ClockKind::Resolution).unwrap().due,
        Some(t0() + Span::hours(48)),
        "normal: 48 h"
    );
}

#[test]
fn the_first_agent_owns_it_and_a_second_claim_is_refused() {
    let (t, fx) = at(
        &ticket(),
        Command::Claim {
            agent: "cs-1".into(),
        },
        1,
    )
    .unwrap();
    assert_eq!((t.state, t.owner.as_deref()), (Investigating, Some("cs-1")));
    assert!(t.clock(ClockKind::FirstResponse).is_none(), "answered");
    assert!(fx.contains(&Effect::StopClock { seq: 2 }));
    let again = at(
        &t,
        Command::Claim {
            agent: "cs-2".into(),
        },
        2,
    )
    .unwrap_err();
    assert!(matches!(
        again,
        Refusal::Precondition {
            reason: "ALREADY_OWNED",
            ..
        }
    ));
}

#[test]
fn only_the_owner_or_an_admin_transfers() {
    let t = claimed();
    let transfer = |by: Actor| Command::Transfer {
        by,
        to: "cs-3".into(),
        reason: "shift ends".into(),
    };
    assert!(matches!(
        at(&t, transfer(agent("cs-2")), 2),
        Err(Refusal::NotYours(_))
    ));
    let (moved, fx) = at(&t, transfer(agent("cs-1")), 2).unwrap();
    assert_eq!(moved.owner.as_deref(), Some("cs-3"));
    assert!(fx.contains(&Effect::Notify {
        to: Party::Owner,
        template: "complaint_transferred"
    }));
    let admin = Actor {
        role: "admin".into(),
        ..agent("ops-1")
    };
    assert!(at(&t, transfer(admin), 2).is_ok());
}

#[test]
fn a_ruling_needs_a_claimed_ticket_and_an_escalated_one_an_expert() {
    let err = at(&ticket(), rule_cmd(arbitrator(false), vec![]), 1).unwrap_err();
    assert_eq!(
        err,
        Refusal::IllegalState {
            state: Open,
            action: "rule"
        }
    );
    let mut t = claimed();
    t.escalation = Some(Escalation {
        group: "expert".into(),
        reason: "high_value".into(),
        automatic: true,
        at: t0(),
    });
    assert!(matches!(
        at(&t, rule_cmd(arbitrator(false), vec![]), 2),
        Err(Refusal::NotYours(_))
    ));
    let (ruled, fx) = at(&t, rule_cmd(arbitrator(true), vec![]), 2).unwrap();
    assert_eq!(ruled.state, Resolved, "nothing owed: resolved at once");
    assert!(fx.contains(&Effect::Publish(Event::RulingIssued)));
}

#[test]
fn a_ticket_escalated_to_a_named_group_is_ruled_by_that_group_only() {
    let mut t = claimed();
    t.escalation = Some(Escalation {
        group: "expert-food".into(),
        reason: "food safety".into(),
        automatic: false,
        at: t0(),
    });
    let in_groups = |groups: &[&str]| Actor {
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..arbitrator(false)
    };
    assert!(matches!(
        at(&t, rule_cmd(in_groups(&["expert"]), vec![]), 2),
        Err(Refusal::NotYours(_))
    ));
    assert!(
        at(
            &t,
            rule_cmd(in_groups(&["expert", "expert-food"]), vec![]),
            2
        )
        .is_ok()
    );
}

#[test]
fn waiting_on_the_buyer_pauses_the_resolution_clock_and_keeps_its_time() {
    let t = claimed();
    let propose = Command::Propose {
        by: agent("cs-1"),
        summary: "a partial refund".into(),
        remedies: vec![refund(5_000)],
    };
    // proposed 10 h in: 38 h of the 48 were left
    let (p, fx) = at(&t, propose, 10).unwrap();
    assert_eq!(p.state, Proposed);
    let res = p.clock(ClockKind::Resolution).unwrap();
    assert_eq!((res.due, res.remaining_ms), (None, Some(38 * 3_600_000)));
    assert!(
        fx.contains(&Effect::StopClock { seq: 1 }),
        "its timer cancelled"
    );
    // declined 20 h later: the 38 h run again from then
    let decline = Command::Respond {
        accept: false,
        comment: "too little".into(),
    };
    let (d, _) = at(&p, decline, 30).unwrap();
    assert_eq!(d.state, Arbitrating);
    let res = d.clock(ClockKind::Resolution).unwrap();
    assert_eq!(res.due, Some(t0() + Span::hours(30 + 38)));
    assert!(res.seq > 3, "a fresh timer");
}

#[test]
fn an_unanswered_evidence_request_moves_on_and_its_silence_grounds_the_ruling() {
    let t = claimed();
    let ask = Command::RequestEvidence {
        by: agent("cs-1"),
        text: "the factory QC report".into(),
        deadline: None,
    };
    let (asked, _) = at(&t, ask, 2).unwrap();
    assert_eq!(asked.state, AwaitingEvidence);
    let (moved, fx) = at(
        &asked,
        Command::Expired {
            kind: ClockKind::MerchantEvidence,
        },
        50,
    )
    .unwrap();
    assert_eq!(moved.state, Investigating);
    assert!(moved.evidence_request.as_ref().unwrap().expired);
    assert!(fx.contains(&Effect::Notify {
        to: Party::Owner,
        template: "evidence_deadline_passed"
    }));
    let (ruled, _) = at(&moved, rule_cmd(arbitrator(false), vec![]), 51).unwrap();
    let facts = &ruled.ruling.unwrap().facts;
    assert_eq!(facts.len(), 1);
    assert!(facts[0].starts_with("the merchant did not answer the evidence request"));
}

#[test]
fn a_breach_is_recorded_and_the_ticket_goes_on() {
    let t = ticket();
    let (b, fx) = at(
        &t,
        Command::Expired {
            kind: ClockKind::Resolution,
        },
        48,
    )
    .unwrap();
    assert_eq!(b.state, Open);
    assert_eq!(b.breaches.len(), 1);
    assert_eq!(b.breaches[0].clock, ClockKind::Resolution);
    let told: Vec<_> = fx
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Notify {
                    template: "clock_breached",
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        told,
        [&Effect::Notify {
            to: Party::Desk,
            template: "clock_breached"
        }],
        "unowned: the desk's queue, once"
    );
    // still undecided: a new period runs, so the late ticket is never unwatched
    let again = b.clock(ClockKind::Resolution).expect("re-armed");
    assert_eq!(again.due, Some(t0() + Span::hours(48 + 48)));
    let (b2, _) = at(
        &b,
        Command::Expired {
            kind: ClockKind::Resolution,
        },
        96,
    )
    .unwrap();
    assert_eq!(
        b2.breaches.len(),
        2,
        "each period that runs out is a breach"
    );
}

#[test]
fn remedies_are_followed_to_settlement_and_only_then_may_it_close() {
    let (ruled, fx) = at(
        &claimed(),
        rule_cmd(arbitrator(false), vec![refund(19_900)]),
        3,
    )
    .unwrap();
    assert_eq!(ruled.state, Executing);
    assert!(fx.contains(&Effect::RequestRefund { remedy: "1".into() }));
    let close = Command::Close {
        cause: "quality_defect".into(),
        summary: String::new(),
    };
    assert!(matches!(
        at(&ruled, close.clone(), 4),
        Err(Refusal::Precondition {
            reason: "REMEDIES_PENDING",
            ..
        })
    ));
    let requested = Command::RefundRequested {
        remedy: "1".into(),
        refund: "refunds/9".into(),
    };
    let (r, _) = at(&ruled, requested, 4).unwrap();
    let (s, _) = at(
        &r,
        Command::RefundSettled {
            refund: "refunds/9".into(),
        },
        5,
    )
    .unwrap();
    assert_eq!(s.state, Resolved);
    assert!(
        at(
            &s,
            Command::RefundSettled {
                refund: "refunds/9".into()
            },
            6
        )
        .is_err()
    );
    let (closed, fx) = at(&s, close, 6).unwrap();
    assert_eq!(closed.state, Closed);
    assert!(fx.contains(&Effect::Publish(Event::Closed)));
}

#[test]
fn the_owner_owes_the_buyer_a_next_update_while_the_ticket_is_in_the_desks_court() {
    let t = claimed();
    let next = t.clock(ClockKind::NextUpdate).expect("runs once claimed");
    assert_eq!(next.due, Some(t0() + Span::hours(1 + 24)));
    // waiting on the merchant: not the owner's to update
    let ask = Command::RequestEvidence {
        by: agent("cs-1"),
        text: "the QC report".into(),
        deadline: None,
    };
    let (asked, _) = at(&t, ask, 2).unwrap();
    assert!(asked.clock(ClockKind::NextUpdate).is_none());
    // back with the owner: running again
    let answer = Command::SubmitEvidence {
        by: Actor {
            role: "merchant".into(),
            id: "merchant-1".into(),
            groups: Vec::new(),
        },
        statement: "attached".into(),
        evidence: Vec::new(),
    };
    let (back, _) = at(&asked, answer, 3).unwrap();
    assert_eq!(
        back.clock(ClockKind::NextUpdate).unwrap().due,
        Some(t0() + Span::hours(3 + 24))
    );
    // overdue: a breach, and it is owed again
    let (late, _) = at(
        &back,
        Command::Expired {
            kind: ClockKind::NextUpdate,
        },
        27,
    )
    .unwrap();
    assert_eq!(late.breaches.last().unwrap().clock, ClockKind::NextUpdate);
    // decided: nothing more owed
    let (ruled, _) = at(&late, rule_cmd(arbitrator(false), vec![]), 28).unwrap();
    assert!(ruled.clock(ClockKind::NextUpdate).is_none());
}

/// No ticket waits forever: every state short of CLOSED that any sequence of commands
/// reaches has a running clock (a timer on the SLA service), whatever happened before.
#[test]
fn every_state_short_of_closed_has_a_running_clock() {
    let reship = Remedy {
        kind: RemedyKind::Reship,
        amount_minor: 0,
        ..refund(0)
    };
    let parcel = || ("sf".to_string(), "SF1".to_string());
    let mut commands = vec![
        Command::Claim {
            agent: "cs-1".into(),
        },
        Command::RequestEvidence {
            by: agent("cs-1"),
            text: "photos".into(),
            deadline: None,
        },
        Command::SubmitEvidence {
            by: Actor {
                role: "merchant".into(),
                id: "merchant-1".into(),
                groups: Vec::new(),
            },
            statement: "fine when sent".into(),
            evidence: Vec::new(),
        },
        Command::Respond {
            accept: true,
            comment: String::new(),
        },
        Command::Respond {
            accept: false,
            comment: String::new(),
        },
        rule_cmd(arbitrator(false), vec![refund(100)]),
        rule_cmd(arbitrator(false), Vec::new()),
        Command::RefundRequested {
            remedy: "1".into(),
            refund: "refunds/9".into(),
        },
        Command::RefundSettled {
            refund: "refunds/9".into(),
        },
        Command::RefundFailed {
            refund: "refunds/9".into(),
        },
        Command::ReshipShipped {
            remedy: "1".into(),
            carrier: parcel().0,
            tracking: parcel().1,
        },
        Command::ParcelDelivered {
            carrier: parcel().0,
            tracking: parcel().1,
            at: None,
        },
        Command::ParcelException {
            carrier: parcel().0,
            tracking: parcel().1,
        },
        Command::ParcelReturned {
            carrier: parcel().0,
            tracking: parcel().1,
        },
        Command::RecordExecution {
            remedy: "1".into(),
            execution: Execution::Failed,
            reference: String::new(),
        },
        Command::Transfer {
            by: agent("cs-1"),
            to: "cs-2".into(),
            reason: "shift ends".into(),
        },
        Command::Escalate {
            group: "expert".into(),
            reason: "the owner's call".into(),
            automatic: false,
        },
        Command::FollowUp {
            agent: "cs-1".into(),
            satisfaction: 4,
            resolved: true,
            comment: String::new(),
        },
        Command::Close {
            cause: "quality_defect".into(),
            summary: String::new(),
        },
    ];
    for remedies in [vec![refund(100)], vec![reship]] {
        commands.push(Command::Propose {
            by: agent("cs-1"),
            summary: "an offer".into(),
            remedies,
        });
    }
    commands.extend(ClockKind::ALL.map(|kind| Command::Expired { kind }));

    let signature = |t: &Ticket| {
        let clocks: Vec<_> = t.clocks.iter().map(|k| k.kind).collect();
        let remedies: Vec<_> = t.remedies.iter().map(|r| (r.kind, r.execution)).collect();
        format!("{:?} {clocks:?} {remedies:?} {:?}", t.state, t.owner)
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut states = std::collections::BTreeSet::new();
    let mut frontier = vec![ticket()];
    for depth in 0..12 {
        let mut next = Vec::new();
        for t in &frontier {
            for cmd in &commands {
                let Ok((after, _)) = at(t, cmd.clone(), depth + 1) else {
                    continue;
                };
                if !seen.insert(signature(&after)) {
                    continue;
                }
                states.insert(after.state.as_str());
                if after.state != Closed {
                    assert!(
                        after.clocks.iter().any(|k| k.due.is_some()),
                        "{} after {} has no running clock: {:?}",
                        after.state.as_str(),
                        cmd.action(),
                        after.clocks
                    );
                }
                next.push(after);
            }
        }
        frontier = next;
    }
    for s in [
        Investigating,
        AwaitingEvidence,
        Proposed,
        Arbitrating,
        Executing,
        Resolved,
        Closed,
    ] {
        assert!(states.contains(s.as_str()), "{} never reached", s.as_str());
    }
}

#[test]
fn the_platform_pays_the_merchants_remedy_first_only_when_the_ruling_says_so() {
    for pays_first in [false, true] {
        let mut cmd = rule_cmd(arbitrator(false), vec![refund(5_000)]);
        if let Command::Rule { pays_first: p, .. } = &mut cmd {
            *p = pays_first;
        }
        let (ruled, _) = at(&claimed(), cmd, 2).unwrap();
        let requested = Command::RefundRequested {
            remedy: "1".into(),
            refund: "refunds/7".into(),
        };
        let (_, fx) = at(&ruled, requested, 3).unwrap();
        let advance = Effect::RecordAdvance { remedy: "1".into() };
        assert_eq!(
            fx.contains(&advance),
            pays_first,
            "pays first: {pays_first}"
        );
    }
}

#[test]
fn one_parcel_moves_every_reship_it_carries_and_only_a_delivery_after_it_was_ordered() {
    let reship = || Remedy {
        kind: RemedyKind::Reship,
        amount_minor: 0,
        ..refund(0)
    };
    let (ruled, _) = at(
        &claimed(),
        rule_cmd(arbitrator(false), vec![reship(), reship()]),
        2,
    )
    .unwrap();
    assert_eq!(ruled.state, Executing);
    let mut t = ruled;
    for remedy in ["1", "2"] {
        let send = Command::ReshipShipped {
            remedy: remedy.into(),
            carrier: "SF".into(),
            tracking: "SF9".into(),
        };
        let (next, fx) = at(&t, send, 3).unwrap();
        assert!(fx.contains(&Effect::RegisterShipment {
            remedy: remedy.into()
        }));
        t = next;
    }
    let parcel = || ("sf".to_string(), "SF9".to_string());
    // a carrier's exception is news, not the end of the parcel
    let (t, fx) = at(
        &t,
        Command::ParcelException {
            carrier: parcel().0,
            tracking: parcel().1,
        },
        4,
    )
    .unwrap();
    assert!(
        t.remedies
            .iter()
            .all(|r| r.execution == Execution::InProgress)
    );
    assert!(fx.contains(&Effect::Notify {
        to: Party::Desk,
        template: "reship_exception"
    }));
    // a delivery dated before the reship was ordered is another trip of that number
    let delivered = |hours: i64| Command::ParcelDelivered {
        carrier: parcel().0,
        tracking: parcel().1,
        at: Some(t0() + Span::hours(hours)),
    };
    assert!(at(&t, delivered(-1), 5).is_err());
    let (done, _) = at(&t, delivered(5), 5).unwrap();
    assert!(done.remedies.iter().all(|r| r.execution == Execution::Done));
    assert_eq!(done.state, Resolved);
}
