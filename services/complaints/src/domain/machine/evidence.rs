//! The investigation's evidence: the owner asks the merchant with a deadline (the
//! merchant's silence past it is a fact for the ruling); any party may add evidence.

use std::time::Duration;

use super::{Actor, Change, Refusal, ownership::owner_only};
use crate::domain::{
    clocks::ClockKind,
    kinds::{Party, State::*},
    ticket::{Evidence, EvidenceRequest, Submission},
};

pub(super) fn request_evidence(
    c: Change,
    by: Actor,
    text: String,
    deadline: Option<Duration>,
) -> Result<Change, Refusal> {
    c.only_in(&[Investigating])?;
    owner_only(&c, &by)?;
    let mut c = c;
    c.t.evidence_request = Some(EvidenceRequest {
        text,
        due: None,
        fulfilled: None,
        expired: false,
    });
    let c = match deadline {
        Some(d) => c.start_for(ClockKind::MerchantEvidence, d),
        None => c.start(ClockKind::MerchantEvidence),
    };
    let mut c = c.to(AwaitingEvidence);
    let due = c.t.clock(ClockKind::MerchantEvidence).and_then(|k| k.due);
    if let Some(r) = c.t.evidence_request.as_mut() {
        r.due = due;
    }
    Ok(c.notify(Party::Merchant, "evidence_requested"))
}

pub(super) fn submit_evidence(
    c: Change,
    by: Actor,
    statement: String,
    evidence: Vec<Evidence>,
) -> Result<Change, Refusal> {
    if c.t.state == Closed {
        return Err(c.illegal());
    }
    let merchant_answers = by.role == "merchant" && c.t.state == AwaitingEvidence;
    let mut c = c;
    c.t.evidence.push(Submission {
        role: by.role.clone(),
        actor_id: by.id.clone(),
        statement,
        evidence,
        at: c.now,
    });
    if !merchant_answers {
        return Ok(c.notify(Party::Owner, "evidence_added"));
    }
    if let Some(r) = c.t.evidence_request.as_mut() {
        r.fulfilled = Some(c.now);
    }
    Ok(c.stop(ClockKind::MerchantEvidence)
        .to(Investigating)
        .notify(Party::Owner, "evidence_received"))
}
