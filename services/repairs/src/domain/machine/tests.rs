use chrono::Duration;

use super::*;
use crate::domain::{fixture, kinds::State::*, quote::Grade, repair::Repair, warranty::NotFree};

/// Monday 2026-03-02 09:00 Beijing: a plain working week.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00")
        .unwrap()
        .to_utc()
}

fn at(r: &Repair, cmd: Command, hours: i64) -> Result<(Repair, Vec<Effect>), Refusal> {
    apply(r, cmd, t0() + Duration::hours(hours), &Spans::default())
}

fn step(r: &Repair, cmd: Command, hours: i64) -> Repair {
    at(r, cmd, hours).unwrap().0
}

fn running(r: &Repair) -> Vec<ClockKind> {
    r.clocks.iter().map(|k| k.kind).collect()
}

/// Accepted, the item shipped and received at hour 30.
fn received(r: Repair) -> Repair {
    let r = step(
        &r,
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let r = step(
        &r,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: false,
        },
        3,
    );
    step(
        &r,
        Command::Delivered {
            leg: Leg::Inbound,
            at: t0() + Duration::hours(30),
        },
        30,
    )
}

fn diagnose(buyer_caused: bool) -> Command {
    Command::Diagnose {
        fault: "a cracked flex cable".into(),
        buyer_caused,
        evidence: Vec::new(),
    }
}

fn paid() -> Repair {
    let mut r = fixture::repair(t0());
    r.within_warranty = false;
    r.not_free = Some(NotFree::Expired);
    r
}

#[test]
fn a_new_repair_runs_its_first_response_and_formal_answer_clocks() {
    let r = fixture::repair(t0());
    assert_eq!(
        running(&r),
        [ClockKind::FirstResponse, ClockKind::FormalAnswer]
    );
    // 24 h, and 2 working days: Wednesday 00:00
    assert_eq!(r.clocks[0].due, t0() + Duration::hours(24));
    assert_eq!(
        r.clocks[1].due,
        DateTime::parse_from_rfc3339("2026-03-05T00:00:00+08:00").unwrap()
    );
    let acked = step(&r, Command::Acknowledge, 1);
    assert_eq!(acked.state, Acknowledged);
    assert_eq!(running(&acked), [ClockKind::FormalAnswer]);
    assert_eq!(acked.first_response, Some(t0() + Duration::hours(1)));
}

#[test]
fn a_paid_repair_is_quoted_charged_repaired_shipped_and_accepted() {
    let r = step(&received(paid()), diagnose(false), 31);
    assert_eq!(r.state, Diagnosed);
    let (r, fx) = at(
        &r,
        Command::Quote {
            parts: vec![Part {
                part: "flex cable".into(),
                quantity: 1,
                unit_cost_minor: 8_000,
            }],
            labour: vec![Labour {
                grade: Grade::Senior,
                hourly_rate_minor: 6_000,
                minutes: 45,
            }],
            note: String::new(),
        },
        32,
    )
    .unwrap();
    assert_eq!(r.state, Quoted);
    assert!(fx.contains(&Effect::Publish(Event::Quoted)));
    assert_eq!(r.quote.as_ref().unwrap().priced.payable, 8_000 + 4_500);
    let (r, fx) = at(
        &r,
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        33,
    )
    .unwrap();
    assert_eq!(r.state, Quoted, "work waits for the charge");
    let charge_id = r.quote.as_ref().unwrap().charge_id.clone().unwrap();
    assert!(fx.contains(&Effect::Charge {
        charge_id: charge_id.clone(),
        minor: 12_500
    }));
    assert!(
        at(
            &r,
            Command::Charged {
                charge_id: "other".into()
            },
            34
        )
        .is_err(),
        "another charge does nothing"
    );
    let r = step(&r, Command::Charged { charge_id }, 34);
    assert_eq!(r.state, Repairing);
    assert_eq!(running(&r), [ClockKind::RepairDue]);
    let (r, fx) = at(
        &r,
        Command::Complete {
            passed: true,
            note: "screen tested 2 h".into(),
        },
        40,
    )
    .unwrap();
    assert_eq!(r.state, ReadyToShip);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::RequestPenalty { .. }))
    );
    let r = step(
        &r,
        Command::ShipBack {
            carrier: "sf".into(),
            tracking: "SF2".into(),
        },
        41,
    );
    let r = step(
        &r,
        Command::Delivered {
            leg: Leg::Outbound,
            at: t0() + Duration::hours(60),
        },
        60,
    );
    assert_eq!(r.state, AwaitingAcceptance);
    let (done, fx) = at(&r, Command::AcceptItem, 61).unwrap();
    assert_eq!(done.state, Completed);
    assert!(done.clocks.is_empty() && !done.auto_accepted);
    assert!(fx.contains(&Effect::Publish(Event::Completed)));
    assert!(at(&done, Command::AcceptItem, 62).is_err(), "final");
}

#[test]
fn free_work_starts_at_the_diagnosis_and_buyer_caused_damage_is_quoted() {
    let r = step(&received(fixture::repair(t0())), diagnose(false), 31);
    assert_eq!(r.state, Repairing);
    assert!(r.free());
    let caused = step(&received(fixture::repair(t0())), diagnose(true), 31);
    assert_eq!(caused.state, Diagnosed);
    assert_eq!(caused.not_free, Some(NotFree::BuyerCaused));
}

#[test]
fn one_extension_before_the_due_time_and_never_a_second_or_a_late_one() {
    let r = step(&received(fixture::repair(t0())), diagnose(false), 31);
    let due = r.repair_due.unwrap();
    let extend = |new_due: DateTime<Utc>| Command::Extend {
        reason: "the part comes from the factory".into(),
        new_due,
    };
    let late = at(&r, extend(due + Duration::days(3)), 31 + 24 * 30).unwrap_err();
    assert!(matches!(
        late,
        Refusal::Precondition {
            reason: "DUE_TIME_PASSED",
            ..
        }
    ));
    let (x, fx) = at(&r, extend(due + Duration::days(3)), 40).unwrap();
    assert_eq!(x.repair_due, Some(due + Duration::days(3)));
    assert_eq!(
        x.clock(ClockKind::RepairDue).unwrap().due,
        due + Duration::days(3)
    );
    assert!(fx.contains(&Effect::Notify {
        to: Party::Buyer,
        template: "repair_extended"
    }));
    let again = at(&x, extend(due + Duration::days(6)), 41).unwrap_err();
    assert!(matches!(
        again,
        Refusal::Precondition {
            reason: "ALREADY_EXTENDED",
            ..
        }
    ));
}

#[test]
fn past_its_due_time_the_repair_owes_half_a_percent_a_day_asked_for_once_at_completion() {
    let r = step(&received(fixture::repair(t0())), diagnose(false), 31);
    let due = r.repair_due.unwrap();
    let hours = |t: DateTime<Utc>| (t - t0()).num_hours();
    let (r, fx) = at(
        &r,
        Command::Expired {
            kind: ClockKind::RepairDue,
        },
        hours(due),
    )
    .unwrap();
    assert_eq!(r.overdue_since, Some(due));
    assert_eq!(running(&r), [ClockKind::Overdue]);
    assert!(fx.contains(&Effect::Publish(Event::Overdue)));
    // done 2 days and 1 hour late: 3 started days of 0.5 % of 1,000.00
    let (done, fx) = at(
        &r,
        Command::Complete {
            passed: true,
            note: String::new(),
        },
        hours(due) + 49,
    )
    .unwrap();
    assert_eq!((done.late_days, done.penalty_minor), (3, 1_500));
    let asked: Vec<_> = fx
        .iter()
        .filter(|e| matches!(e, Effect::RequestPenalty { .. }))
        .collect();
    assert_eq!(
        asked,
        [&Effect::RequestPenalty {
            round: 1,
            days: 3,
            minor: 1_500
        }]
    );
    assert!(
        done.clocks
            .iter()
            .all(|k| k.kind == ClockKind::MerchantStep)
    );
}

#[test]
fn the_acceptance_clock_accepts_and_only_a_repaired_item_is_reopened_for_free() {
    let mut r = step(&received(paid()), diagnose(false), 31);
    // shortcut to the way back: a paid repair whose quote the buyer declined
    r = step(
        &r,
        Command::Quote {
            parts: vec![Part {
                part: "board".into(),
                quantity: 1,
                unit_cost_minor: 50_000,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        32,
    );
    r = step(
        &r,
        Command::DecideQuote {
            accept: false,
            reason: "too dear".into(),
        },
        33,
    );
    assert_eq!(r.state, ReadyToShip, "goes back unrepaired");
    r = step(
        &r,
        Command::ShipBack {
            carrier: "sf".into(),
            tracking: "SF3".into(),
        },
        34,
    );
    r = step(
        &r,
        Command::Delivered {
            leg: Leg::Outbound,
            at: t0() + Duration::hours(50),
        },
        50,
    );
    let auto = step(
        &r,
        Command::Expired {
            kind: ClockKind::BuyerAcceptance,
        },
        50 + 24 * 7,
    );
    assert_eq!(auto.state, Completed);
    assert!(auto.auto_accepted);
    // an item that went back unrepaired is no re-repair
    let reopen = || Command::Reopen {
        reason: "still flickers".into(),
    };
    assert!(matches!(
        at(&r, reopen(), 51),
        Err(Refusal::Precondition {
            reason: "NOT_REPAIRED",
            ..
        })
    ));
    // a repaired one is, free of charge, with every clock again
    let mut fixed = step(&received(paid()), diagnose(false), 31);
    fixed = step(
        &fixed,
        Command::Quote {
            parts: vec![Part {
                part: "cable".into(),
                quantity: 1,
                unit_cost_minor: 5_000,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        32,
    );
    fixed = step(
        &fixed,
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        33,
    );
    let charge_id = fixed.quote.as_ref().unwrap().charge_id.clone().unwrap();
    fixed = step(&fixed, Command::Charged { charge_id }, 34);
    fixed = step(
        &fixed,
        Command::Complete {
            passed: true,
            note: String::new(),
        },
        40,
    );
    fixed = step(
        &fixed,
        Command::ShipBack {
            carrier: "sf".into(),
            tracking: "SF4".into(),
        },
        41,
    );
    fixed = step(
        &fixed,
        Command::Delivered {
            leg: Leg::Outbound,
            at: t0() + Duration::hours(60),
        },
        60,
    );
    assert!(!fixed.free(), "the first round was paid");
    let again = step(&fixed, reopen(), 61);
    assert_eq!((again.state, again.round), (Accepted, 2));
    assert!(again.free() && !again.repaired, "a re-repair is free");
    assert_eq!(running(&again), [ClockKind::ItemInbound]);
}

#[test]
fn a_decline_needs_a_reason_and_ends_the_repair() {
    let r = fixture::repair(t0());
    assert!(matches!(
        at(&r, Command::Decline { reason: " ".into() }, 1),
        Err(Refusal::Invalid {
            field: "reason",
            ..
        })
    ));
    let (d, fx) = at(
        &r,
        Command::Decline {
            reason: "not our product".into(),
        },
        1,
    )
    .unwrap();
    assert_eq!(d.state, Declined);
    assert!(d.clocks.is_empty() && d.closed.is_some());
    assert!(
        fx.contains(&Effect::StopClock { seq: 1 }) && fx.contains(&Effect::StopClock { seq: 2 })
    );
    assert!(fx.contains(&Effect::Notify {
        to: Party::Buyer,
        template: "repair_declined"
    }));
}

#[test]
fn a_missed_first_response_is_a_breach_and_the_formal_answer_escalates_each_period() {
    let r = fixture::repair(t0());
    let r = step(
        &r,
        Command::Expired {
            kind: ClockKind::FirstResponse,
        },
        24,
    );
    assert_eq!(r.breaches.len(), 1);
    assert_eq!(running(&r), [ClockKind::FormalAnswer]);
    let (r, fx) = at(
        &r,
        Command::Expired {
            kind: ClockKind::FormalAnswer,
        },
        39,
    )
    .unwrap();
    assert_eq!(r.breaches.len(), 2);
    assert!(r.clock(ClockKind::FormalAnswer).is_some(), "a new period");
    assert!(fx.contains(&Effect::Notify {
        to: Party::Desk,
        template: "repair_answer_overdue"
    }));
    assert_eq!(r.state, Requested);
}

/// No repair waits forever: every state short of the final ones that any sequence of
/// commands reaches has a running clock.
#[test]
fn every_state_short_of_the_final_ones_has_a_running_clock() {
    let mut commands = vec![
        Command::Acknowledge,
        Command::Accept {
            spare_unit: true,
            address: Address::default(),
        },
        Command::Decline {
            reason: "no".into(),
        },
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: false,
        },
        Command::Delivered {
            leg: Leg::Inbound,
            at: t0(),
        },
        Command::Delivered {
            leg: Leg::Outbound,
            at: t0(),
        },
        diagnose(false),
        diagnose(true),
        Command::Quote {
            parts: vec![Part {
                part: "x".into(),
                quantity: 1,
                unit_cost_minor: 100,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        Command::DecideQuote {
            accept: false,
            reason: String::new(),
        },
        Command::Complete {
            passed: true,
            note: String::new(),
        },
        Command::ShipBack {
            carrier: "sf".into(),
            tracking: "SF2".into(),
        },
        Command::AcceptItem,
        Command::Reopen {
            reason: "again".into(),
        },
        Command::Cancel {
            reason: String::new(),
        },
        Command::ShipSpare {
            carrier: "sf".into(),
            tracking: "SP1".into(),
        },
        Command::Delivered {
            leg: Leg::SpareOut,
            at: t0(),
        },
        Command::ReturnSpare {
            carrier: "sf".into(),
            tracking: "SP2".into(),
        },
        Command::Delivered {
            leg: Leg::SpareBack,
            at: t0(),
        },
    ];
    commands.extend(ClockKind::ALL.map(|kind| Command::Expired { kind }));
    let signature = |r: &Repair| {
        format!(
            "{:?} {:?} {:?} {} {:?} {} {:?} {:?} {:?}",
            r.state,
            running(r),
            r.quote.as_ref().map(|q| (q.accepted, q.charged.is_some())),
            r.round,
            r.inbound.as_ref().map(|p| p.delivered.is_some()),
            r.item_awaited,
            r.spare.as_ref().map(|p| p.delivered.is_some()),
            r.spare_return.as_ref().map(|p| p.delivered.is_some()),
            r.decline_fee
                .as_ref()
                .map(|f| (f.charged.is_some(), f.failure.is_empty())),
        )
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut states = std::collections::BTreeSet::new();
    let mut with_fee = paid();
    with_fee.inspection_fee_minor = 3_000;
    let mut free_with_fee = fixture::repair(t0());
    free_with_fee.inspection_fee_minor = 3_000;
    let mut frontier = vec![fixture::repair(t0()), paid(), with_fee, free_with_fee];
    for depth in 0..16 {
        let mut next = Vec::new();
        for r in &frontier {
            let mut cmds = commands.clone();
            let fee = r.decline_fee.as_ref().map(|f| f.charge_id.clone());
            for id in r
                .quote
                .as_ref()
                .and_then(|q| q.charge_id.clone())
                .into_iter()
                .chain(fee)
            {
                cmds.push(Command::Charged {
                    charge_id: id.clone(),
                });
                cmds.push(Command::ChargeFailed {
                    charge_id: id,
                    why: "DECLINED".into(),
                });
            }
            for cmd in cmds {
                let Ok((after, _)) = at(r, cmd.clone(), depth + 1) else {
                    continue;
                };
                if !seen.insert(signature(&after)) {
                    continue;
                }
                states.insert(after.state);
                // a fee is a paid first round's, and asked while its clock runs
                if after.decline_fee.is_some() {
                    assert!(after.round == 1 && after.not_free.is_some(), "{after:?}");
                }
                let charge_clock = after.clock(ClockKind::Charge).is_some();
                if after.state != Quoted {
                    assert_eq!(
                        after.open_fee().is_some(),
                        charge_clock,
                        "{} after {}",
                        after.state.as_str(),
                        cmd.action()
                    );
                }
                if after.state.is_final() {
                    assert!(
                        after.clocks.iter().all(|k| k.kind == ClockKind::Charge),
                        "only a fee's clock outlives the end"
                    );
                }
                if !after.state.is_final() {
                    assert!(
                        !after.clocks.is_empty(),
                        "{} after {} runs no clock",
                        after.state.as_str(),
                        cmd.action()
                    );
                }
                next.push(after);
            }
        }
        frontier = next;
    }
    for s in State::ALL.into_iter().filter(|s| *s != Requested) {
        assert!(states.contains(&s), "{} never reached", s.as_str());
    }
}

#[test]
fn the_buyer_cancels_before_the_item_is_on_its_way_and_not_after() {
    let r = fixture::repair(t0());
    let (gone, fx) = at(
        &r,
        Command::Cancel {
            reason: "fixed it myself".into(),
        },
        1,
    )
    .unwrap();
    assert_eq!(gone.state, Cancelled);
    assert!(gone.clocks.is_empty() && gone.closed.is_some());
    assert_eq!(gone.cancel_reason, "fixed it myself");
    assert!(fx.contains(&Effect::Notify {
        to: Party::Merchant,
        template: "repair_cancelled"
    }));
    // once the parcel is on its way the repair goes on
    let r = step(
        &r,
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let shipped = step(
        &r,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: true,
        },
        3,
    );
    let cancel = Command::Cancel {
        reason: String::new(),
    };
    assert!(matches!(
        at(&shipped, cancel.clone(), 4),
        Err(Refusal::Precondition {
            reason: "ITEM_ON_ITS_WAY",
            ..
        })
    ));
    // nothing more after a cancel
    assert!(matches!(
        at(&gone, Command::Acknowledge, 2),
        Err(Refusal::IllegalState { .. })
    ));
}

#[test]
fn a_booked_pickup_is_not_registered_again_and_an_item_never_sent_closes_the_repair() {
    let r = step(
        &fixture::repair(t0()),
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let (_, fx) = at(
        &r,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: true,
        },
        3,
    )
    .unwrap();
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::RegisterShipment { .. })),
        "logistics booked it: {fx:?}"
    );
    let expire = Command::Expired {
        kind: ClockKind::ItemInbound,
    };
    let once = step(&r, expire.clone(), 24 * 7);
    assert_eq!((once.state, once.item_awaited), (Accepted, 1));
    assert_eq!(running(&once), [ClockKind::ItemInbound], "a second period");
    let twice = step(&once, expire.clone(), 24 * 14);
    assert_eq!(twice.state, Cancelled);
    assert!(twice.clocks.is_empty());
    // a parcel on its way keeps the repair open however long it takes
    let shipped = step(
        &once,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: false,
        },
        24 * 8,
    );
    assert_eq!(step(&shipped, expire, 24 * 14).state, Accepted);
}

#[test]
fn the_spare_unit_goes_out_while_the_repair_runs_and_comes_back_after_acceptance() {
    let mut r = fixture::repair(t0());
    r.spare_unit = false;
    let accepted = step(
        &r,
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let spare = |t: &str| Command::ShipSpare {
        carrier: "sf".into(),
        tracking: t.into(),
    };
    assert!(matches!(
        at(&accepted, spare("SP1"), 3),
        Err(Refusal::Precondition {
            reason: "NO_SPARE_UNIT",
            ..
        })
    ));
    let lent = step(
        &r,
        Command::Accept {
            spare_unit: true,
            address: Address::default(),
        },
        2,
    );
    let (out, fx) = at(&lent, spare("SP1"), 3).unwrap();
    assert_eq!(out.state, Accepted, "the spare does not move the repair");
    assert!(fx.contains(&Effect::RegisterShipment { leg: Leg::SpareOut }));
    assert!(at(&out, spare("SP9"), 4).is_err(), "one spare");
    let out = step(
        &out,
        Command::Delivered {
            leg: Leg::SpareOut,
            at: t0() + Duration::hours(20),
        },
        20,
    );
    let back = Command::ReturnSpare {
        carrier: "sf".into(),
        tracking: "SP2".into(),
    };
    assert!(at(&out, back.clone(), 21).is_err(), "not before acceptance");
    // the free repair runs to acceptance
    let mut x = step(
        &out,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: false,
        },
        21,
    );
    for (cmd, h) in [
        (
            Command::Delivered {
                leg: Leg::Inbound,
                at: t0() + Duration::hours(30),
            },
            30,
        ),
        (diagnose(false), 31),
        (
            Command::Complete {
                passed: true,
                note: String::new(),
            },
            40,
        ),
        (
            Command::ShipBack {
                carrier: "sf".into(),
                tracking: "SF2".into(),
            },
            41,
        ),
        (
            Command::Delivered {
                leg: Leg::Outbound,
                at: t0() + Duration::hours(50),
            },
            50,
        ),
    ] {
        x = step(&x, cmd, h);
    }
    let (done, fx) = at(&x, Command::AcceptItem, 51).unwrap();
    assert_eq!(done.state, Completed);
    assert!(fx.contains(&Effect::Notify {
        to: Party::Buyer,
        template: "repair_spare_return_due"
    }));
    let (returning, fx) = at(&done, back.clone(), 52).unwrap();
    assert_eq!(returning.state, Completed, "still complete");
    assert!(fx.contains(&Effect::RegisterShipment {
        leg: Leg::SpareBack
    }));
    assert!(at(&returning, back, 53).is_err(), "once");
    let home = step(
        &returning,
        Command::Delivered {
            leg: Leg::SpareBack,
            at: t0() + Duration::hours(60),
        },
        60,
    );
    assert!(home.spare_return.unwrap().delivered.is_some());
}

#[test]
fn an_unanswered_charge_is_asked_again_under_the_same_id() {
    let r = step(&received(paid()), diagnose(false), 31);
    let q = step(
        &r,
        Command::Quote {
            parts: vec![Part {
                part: "x".into(),
                quantity: 1,
                unit_cost_minor: 100,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        40,
    );
    let accepted = step(
        &q,
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        41,
    );
    let (id, minor) = accepted
        .pending_charge()
        .map(|(i, m)| (i.to_string(), m))
        .unwrap();
    assert_eq!(minor, 100);
    let (again, fx) = at(
        &accepted,
        Command::Expired {
            kind: ClockKind::Charge,
        },
        42,
    )
    .unwrap();
    assert!(fx.contains(&Effect::Charge {
        charge_id: id.clone(),
        minor: 100
    }));
    assert_eq!(running(&again), [ClockKind::Charge]);
    // declined: the quote is open again, the reason kept, the next charge a new id
    let declined = step(
        &again,
        Command::ChargeFailed {
            charge_id: id.clone(),
            why: "INSUFFICIENT_FUNDS: no".into(),
        },
        43,
    );
    assert_eq!(declined.state, Quoted);
    assert!(declined.pending_charge().is_none());
    assert_eq!(
        declined.quote.as_ref().unwrap().charge_failure,
        "INSUFFICIENT_FUNDS: no"
    );
    let retried = step(
        &declined,
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        44,
    );
    assert_ne!(retried.pending_charge().unwrap().0, id);
}

#[test]
fn a_reopened_repair_waits_two_periods_for_its_item_again() {
    let r = step(
        &fixture::repair(t0()),
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let expire = Command::Expired {
        kind: ClockKind::ItemInbound,
    };
    // round 1: one period passes before the item is sent
    let late = step(&r, expire.clone(), 24 * 7);
    let mut x = step(
        &late,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: false,
        },
        24 * 8,
    );
    for (cmd, h) in [
        (
            Command::Delivered {
                leg: Leg::Inbound,
                at: t0() + Duration::hours(24 * 9),
            },
            24 * 9,
        ),
        (diagnose(false), 24 * 9 + 1),
        (
            Command::Complete {
                passed: true,
                note: String::new(),
            },
            24 * 9 + 2,
        ),
        (
            Command::ShipBack {
                carrier: "sf".into(),
                tracking: "SF2".into(),
            },
            24 * 9 + 3,
        ),
        (
            Command::Delivered {
                leg: Leg::Outbound,
                at: t0() + Duration::hours(24 * 10),
            },
            24 * 10,
        ),
        (
            Command::Reopen {
                reason: "again".into(),
            },
            24 * 10 + 1,
        ),
    ] {
        x = step(&x, cmd, h);
    }
    assert_eq!((x.state, x.round, x.item_awaited), (Accepted, 2, 0));
    let once = step(&x, expire, 24 * 17);
    assert_eq!(once.state, Accepted, "round 2 has its own two periods");
}

#[test]
fn a_booked_pickup_is_neither_booked_again_nor_replaced_and_a_zero_quote_needs_no_charge() {
    let r = step(
        &fixture::repair(t0()),
        Command::Accept {
            spare_unit: false,
            address: Address::default(),
        },
        2,
    );
    let booked = step(
        &r,
        Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF1".into(),
            booked: true,
        },
        3,
    );
    for booked_again in [true, false] {
        let again = Command::ItemShipped {
            carrier: "sf".into(),
            tracking: "SF9".into(),
            booked: booked_again,
        };
        assert!(matches!(
            at(&booked, again, 4),
            Err(Refusal::Precondition {
                reason: "PICKUP_ALREADY_BOOKED",
                ..
            })
        ));
    }
    // a goodwill quote at zero: accepted, work starts without a charge
    let d = step(&received(paid()), diagnose(false), 31);
    let q = step(
        &d,
        Command::Quote {
            parts: vec![Part {
                part: "x".into(),
                quantity: 1,
                unit_cost_minor: 0,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        32,
    );
    let (started, fx) = at(
        &q,
        Command::DecideQuote {
            accept: true,
            reason: String::new(),
        },
        33,
    )
    .unwrap();
    assert_eq!(started.state, Repairing);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Charge { .. })));
}

#[test]
fn a_spare_delivered_after_the_end_is_recorded_and_asked_back() {
    let lent = step(
        &fixture::repair(t0()),
        Command::Accept {
            spare_unit: true,
            address: Address::default(),
        },
        2,
    );
    let out = step(
        &lent,
        Command::ShipSpare {
            carrier: "sf".into(),
            tracking: "SP1".into(),
        },
        3,
    );
    // withdrawn with the spare on its way
    let gone = step(
        &out,
        Command::Cancel {
            reason: String::new(),
        },
        4,
    );
    assert_eq!(gone.state, Cancelled);
    let (home, fx) = at(
        &gone,
        Command::Delivered {
            leg: Leg::SpareOut,
            at: t0() + Duration::hours(5),
        },
        5,
    )
    .unwrap();
    assert!(home.spare.as_ref().unwrap().delivered.is_some());
    assert!(fx.contains(&Effect::Notify {
        to: Party::Buyer,
        template: "repair_spare_return_due"
    }));
    let (back, _) = at(
        &home,
        Command::ReturnSpare {
            carrier: "sf".into(),
            tracking: "SP2".into(),
        },
        6,
    )
    .unwrap();
    assert_eq!(back.state, Cancelled);
    assert!(back.spare_return.is_some());
    // nothing else after the end
    assert!(at(&back, Command::Acknowledge, 7).is_err());
}

#[test]
fn a_declined_or_lapsed_quote_owes_the_policys_inspection_fee_once() {
    let mut r = paid();
    r.inspection_fee_minor = 3_000;
    let d = step(&received(r), diagnose(false), 31);
    let q = step(
        &d,
        Command::Quote {
            parts: vec![Part {
                part: "x".into(),
                quantity: 1,
                unit_cost_minor: 10_000,
            }],
            labour: Vec::new(),
            note: String::new(),
        },
        32,
    );
    for lapse in [false, true] {
        let cmd = match lapse {
            false => Command::DecideQuote {
                accept: false,
                reason: "too dear".into(),
            },
            true => Command::Expired {
                kind: ClockKind::QuoteDecision,
            },
        };
        let (declined, fx) = at(&q, cmd, 33).unwrap();
        assert_eq!(declined.state, ReadyToShip);
        let fee = declined.decline_fee.clone().unwrap();
        assert_eq!(fee.minor, 3_000);
        assert!(fx.contains(&Effect::Charge {
            charge_id: fee.charge_id.clone(),
            minor: 3_000
        }));
        assert_eq!(
            running(&declined),
            [ClockKind::MerchantStep, ClockKind::Charge]
        );
        assert_eq!(declined.pending_charge().map(|(_, m)| m), Some(3_000));
        // taken: recorded once, its clock stopped; the item goes back meanwhile
        let (paid_fee, fx) = at(
            &declined,
            Command::Charged {
                charge_id: fee.charge_id.clone(),
            },
            34,
        )
        .unwrap();
        assert!(fx.contains(&Effect::Notify {
            to: Party::Buyer,
            template: "repair_fee_charged"
        }));
        assert!(paid_fee.decline_fee.as_ref().unwrap().charged.is_some());
        assert_eq!(running(&paid_fee), [ClockKind::MerchantStep]);
        assert!(
            at(
                &paid_fee,
                Command::Charged {
                    charge_id: fee.charge_id.clone()
                },
                35
            )
            .is_err(),
            "once"
        );
    }
    // the fee still asked when the repair ends: its clock outlives the end, and its answer
    // is taken after it
    let (declined, _) = at(
        &q,
        Command::DecideQuote {
            accept: false,
            reason: String::new(),
        },
        33,
    )
    .unwrap();
    let fee_id = declined.decline_fee.clone().unwrap().charge_id;
    let mut x = declined;
    for (cmd, h) in [
        (
            Command::ShipBack {
                carrier: "sf".into(),
                tracking: "SF2".into(),
            },
            34,
        ),
        (
            Command::Delivered {
                leg: Leg::Outbound,
                at: t0() + Duration::hours(40),
            },
            40,
        ),
        (Command::AcceptItem, 41),
    ] {
        x = step(&x, cmd, h);
    }
    assert_eq!(x.state, Completed);
    assert_eq!(running(&x), [ClockKind::Charge]);
    let (asked, fx) = at(
        &x,
        Command::Expired {
            kind: ClockKind::Charge,
        },
        42,
    )
    .unwrap();
    assert!(fx.contains(&Effect::Charge {
        charge_id: fee_id.clone(),
        minor: 3_000
    }));
    let (refused, fx) = at(
        &asked,
        Command::ChargeFailed {
            charge_id: fee_id,
            why: "INSUFFICIENT_FUNDS: no".into(),
        },
        43,
    )
    .unwrap();
    for (to, template) in [
        (Party::Buyer, "repair_fee_charge_failed"),
        (Party::Desk, "repair_fee_unpaid"),
    ] {
        assert!(fx.contains(&Effect::Notify { to, template }));
    }
    assert_eq!(refused.state, Completed);
    assert!(refused.clocks.is_empty() && refused.pending_charge().is_none());
    assert_eq!(
        refused.decline_fee.unwrap().failure,
        "INSUFFICIENT_FUNDS: no"
    );
}

#[test]
fn the_fee_is_never_dearer_than_the_quote_and_a_silent_gateway_leaves_it_to_the_desk() {
    let mut r = paid();
    r.inspection_fee_minor = 3_000;
    let d = step(&received(r), diagnose(false), 31);
    let quote = |minor: i64| Command::Quote {
        parts: vec![Part {
            part: "x".into(),
            quantity: 1,
            unit_cost_minor: minor,
        }],
        labour: Vec::new(),
        note: String::new(),
    };
    let decline = Command::DecideQuote {
        accept: false,
        reason: String::new(),
    };
    let cheap = step(&step(&d, quote(1_000), 32), decline.clone(), 33);
    assert_eq!(
        cheap.decline_fee.as_ref().unwrap().minor,
        1_000,
        "at most the quote"
    );
    let zero = step(&step(&d, quote(0), 32), decline.clone(), 33);
    assert!(zero.decline_fee.is_none(), "a free quote owes nothing");
    // the gateway never answers: asked each period, then the desk's
    let mut x = step(&step(&d, quote(10_000), 32), decline, 33);
    let expire = Command::Expired {
        kind: ClockKind::Charge,
    };
    for h in 0..3 {
        let (next, fx) = at(&x, expire.clone(), 34 + h).unwrap();
        assert!(fx.iter().any(|e| matches!(e, Effect::Charge { .. })));
        x = next;
    }
    let (given_up, fx) = at(&x, expire, 40).unwrap();
    assert!(fx.contains(&Effect::Notify {
        to: Party::Desk,
        template: "repair_fee_unpaid"
    }));
    assert!(given_up.open_fee().is_none() && given_up.clock(ClockKind::Charge).is_none());
    assert_eq!(
        given_up.shown_clock().unwrap().kind,
        ClockKind::MerchantStep
    );
}
