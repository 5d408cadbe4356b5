//! Deciding a complaint: a proposal the buyer accepts or declines (the resolution clock
//! stopped while the buyer is awaited), and the platform's ruling when they do not
//! agree, with its basis, liability and the facts the platform recorded.

use super::{Actor, Change, Event, Refusal, money::execute, numbered, ownership::owner_only};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Liability, Outcome, Party, State::*},
    ticket::{Proposal, Remedy, Ruling},
};

/// Money remedies never add up to more than the line cost (refunds would refuse the
/// excess, and the ticket would wait on a payment that cannot happen).
fn within_paid(c: &Change, remedies: &[Remedy]) -> Result<(), Refusal> {
    let money: i64 = remedies
        .iter()
        .chain(c.t.remedies.iter())
        .filter(|r| r.kind.is_money())
        .map(|r| r.amount_minor)
        .sum();
    if c.t.paid_minor > 0 && money > c.t.paid_minor {
        return Err(Refusal::Invalid {
            field: "remedies",
            why: format!(
                "money remedies total {money}, more than the {} the line cost",
                c.t.paid_minor
            ),
        });
    }
    Ok(())
}

pub(super) fn propose(
    c: Change,
    by: Actor,
    summary: String,
    remedies: Vec<Remedy>,
) -> Result<Change, Refusal> {
    c.only_in(&[Investigating])?;
    owner_only(&c, &by)?;
    // a return's dispute is decided by the platform's ruling (SPEC §3), which the return
    // acts on; an agreement would leave the return in dispute
    if c.t.channel == crate::domain::kinds::SYSTEM_CHANNEL {
        return Err(Refusal::Precondition {
            reason: "DISPUTE_NEEDS_RULING",
            why: "a return's dispute is decided by arbitration, not by a proposal".into(),
        });
    }
    within_paid(&c, &remedies)?;
    let mut c = c;
    let remedies = numbered(&c.t, remedies);
    c.t.proposal = Some(Proposal {
        summary,
        remedies,
        at: c.now,
        accepted: None,
        comment: String::new(),
        answered: None,
    });
    // waiting on the buyer is not the desk's time
    Ok(c.pause(ClockKind::Resolution)
        .start(ClockKind::ProposalResponse)
        .to(Proposed)
        .notify(Party::Buyer, "resolution_proposed"))
}

pub(super) fn respond(c: Change, accept: bool, comment: String) -> Result<Change, Refusal> {
    c.only_in(&[Proposed])?;
    let mut c = c;
    let now = c.now;
    let Some(p) = c.t.proposal.as_mut() else {
        return Err(c.illegal());
    };
    p.accepted = Some(accept);
    p.comment = comment;
    p.answered = Some(now);
    let remedies = p.remedies.clone();
    let c = c.stop(ClockKind::ProposalResponse);
    if !accept {
        return Ok(c
            .resume(ClockKind::Resolution)
            .to(Arbitrating)
            .notify(Party::Owner, "proposal_declined"));
    }
    // decided: a paused resolution clock has no timer left, it is simply dropped
    let c = c.stop(ClockKind::Resolution);
    Ok(execute(c, remedies).notify(Party::Owner, "proposal_accepted"))
}

pub(super) fn rule(
    c: Change,
    by: Actor,
    (basis, liability, outcome, summary): (String, Liability, Outcome, String),
    remedies: Vec<Remedy>,
    pays_first: bool,
) -> Result<Change, Refusal> {
    // an unclaimed (OPEN) ticket has not been investigated: nobody rules on it yet
    c.only_in(&[Investigating, Arbitrating])?;
    if let Some(e) = &c.t.escalation
        && !by.groups.contains(&e.group)
    {
        return Err(Refusal::NotYours(format!(
            "escalated to {}: only its arbitrators rule on it",
            e.group
        )));
    }
    within_paid(&c, &remedies)?;
    let mut c = c;
    let remedies = numbered(&c.t, remedies);
    c.t.ruling = Some(Ruling {
        basis,
        liability,
        outcome,
        remedies: remedies.clone(),
        summary,
        arbitrator: by.id,
        at: c.now,
        facts: c.t.facts.clone(),
        platform_pays_first: pays_first,
    });
    let c = c
        .stop(ClockKind::Resolution)
        .stop(ClockKind::MerchantEvidence)
        .publish(Event::RulingIssued)
        .notify(Party::Buyer, "ruling_issued")
        .notify(Party::Merchant, "ruling_issued");
    Ok(execute(c, remedies))
}
