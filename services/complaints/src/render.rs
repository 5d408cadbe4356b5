//! Domain -> contract. A merchant's view carries no complainant contact (SPEC §9,
//! minimum necessary): only the buyer and platform staff see how to reach the buyer.

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole, AuditEntry, Clock as ProtoClock, EvidenceRef, Money},
    complaints::v1::{
        Breach as ProtoBreach, Complaint, Contact as ProtoContact, Escalation as ProtoEscalation,
        EvidenceRequest as ProtoRequest, EvidenceSubmission, FollowUp as ProtoFollowUp,
        Proposal as ProtoProposal, Remedy as ProtoRemedy, Ruling as ProtoRuling,
    },
};
use kit::{auth::Principal, time::ts};

use crate::{
    domain::{
        clocks::{Clock, ClockKind},
        kinds::State,
        ticket::{Evidence, Remedy, Ruling, Ticket},
    },
    names::timer_id,
};

fn money(minor: i64, t: &Ticket) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: t.currency.clone(),
    })
}

pub fn evidence_out(e: &[Evidence]) -> Vec<EvidenceRef> {
    e.iter()
        .map(|e| EvidenceRef {
            uri: e.uri.clone(),
            kind: e.kind,
            description: e.description.clone(),
            sha256: e.sha256.clone(),
        })
        .collect()
}

fn remedy(t: &Ticket, r: &Remedy) -> ProtoRemedy {
    ProtoRemedy {
        id: r.id.clone(),
        kind: r.kind as i32,
        amount: money(r.amount_minor, t),
        borne_by: r.borne_by.map_or(0, |l| l as i32),
        note: r.note.clone(),
        execution_state: r.execution as i32,
        execution_reference: r.reference.clone(),
        execute_time: r.done.map(ts),
    }
}

/// A ruling as both sides receive it.
pub fn ruling(t: &Ticket, r: &Ruling) -> ProtoRuling {
    ProtoRuling {
        basis: r.basis.clone(),
        liability: r.liability as i32,
        outcome: r.outcome as i32,
        remedies: r.remedies.iter().map(|x| remedy(t, x)).collect(),
        summary: r.summary.clone(),
        arbitrator_id: r.arbitrator.clone(),
        rule_time: Some(ts(r.at)),
        facts: r.facts.clone(),
        platform_pays_first: r.platform_pays_first,
    }
}

/// Who must act before a clock of `kind` runs out.
fn waiting_on(kind: ClockKind) -> ActorRole {
    match kind {
        ClockKind::Resolution
        | ClockKind::FirstResponse
        | ClockKind::NextUpdate
        | ClockKind::Execution
        | ClockKind::Closing => ActorRole::Agent,
        ClockKind::MerchantEvidence => ActorRole::Merchant,
        ClockKind::ProposalResponse => ActorRole::Buyer,
    }
}

fn clock(t: &Ticket, k: &Clock) -> ProtoClock {
    ProtoClock {
        kind: k.kind.as_str().into(),
        due_time: k.due.map(ts),
        timer: kit::sla::timer_name(&timer_id(t, k.seq)),
        paused: k.remaining_ms.is_some(),
        remaining: k.remaining_ms.map(|ms| prost_types::Duration {
            seconds: ms / 1000,
            nanos: ((ms % 1000) * 1_000_000) as i32,
        }),
        waiting_on: waiting_on(k.kind) as i32,
    }
}

/// The complaint as `who` may see it.
pub fn complaint(t: &Ticket, who: &Principal) -> Complaint {
    let staff_or_buyer = who.is_platform() || who.id == t.buyer_id;
    let mut clocks: Vec<&Clock> = t.clocks.iter().collect();
    clocks.sort_by_key(|k| (k.due.is_none(), k.due, k.kind));
    Complaint {
        name: t.name(),
        ticket_number: t.number.clone(),
        state: t.state as i32,
        channel: t.channel,
        priority: t.priority as i32,
        origin: t.origin as i32,
        subject_case: t.subject_case.clone().unwrap_or_default(),
        order_id: t.order_id.clone(),
        buyer_id: t.buyer_id.clone(),
        merchant_id: t.merchant_id.clone(),
        category: t.category.clone(),
        region: t.region.clone(),
        problem: t.problem.clone(),
        demand: t.demand.clone(),
        contact: staff_or_buyer.then(|| ProtoContact {
            name: t.contact.name.clone(),
            phone: t.contact.phone.clone(),
            email: t.contact.email.clone(),
            social_account: t.contact.social_account.clone(),
        }),
        claim_amount: money(t.claim_minor, t),
        evidence: t
            .evidence
            .iter()
            .map(|s| EvidenceSubmission {
                submitted_by: Some(Actor {
                    role: kit::audit::actor_role(&s.role) as i32,
                    id: s.actor_id.clone(),
                }),
                statement: s.statement.clone(),
                evidence: evidence_out(&s.evidence),
                submit_time: Some(ts(s.at)),
            })
            .collect(),
        owner_agent_id: t.owner.clone().unwrap_or_default(),
        claim_time: t.claimed.map(ts),
        evidence_request: t.evidence_request.as_ref().map(|r| ProtoRequest {
            request_text: r.text.clone(),
            due_time: r.due.map(ts),
            fulfil_time: r.fulfilled.map(ts),
            expired: r.expired,
        }),
        proposal: t.proposal.as_ref().map(|p| ProtoProposal {
            summary: p.summary.clone(),
            remedies: p.remedies.iter().map(|r| remedy(t, r)).collect(),
            propose_time: Some(ts(p.at)),
            accepted: p.accepted.unwrap_or(false),
            response_comment: p.comment.clone(),
            respond_time: p.answered.map(ts),
        }),
        ruling: t.ruling.as_ref().map(|r| ruling(t, r)),
        remedies: t.remedies.iter().map(|r| remedy(t, r)).collect(),
        escalation: t.escalation.as_ref().map(|e| ProtoEscalation {
            expert_group: e.group.clone(),
            reason: e.reason.clone(),
            automatic: e.automatic,
            escalate_time: Some(ts(e.at)),
        }),
        clock: clocks.first().map(|k| clock(t, k)),
        cause: t.cause.clone(),
        close_summary: t.close_summary.clone(),
        follow_up: t
            .follow_up
            .as_ref()
            .filter(|_| staff_or_buyer)
            .map(|f| ProtoFollowUp {
                satisfaction: f.satisfaction,
                resolved: f.resolved,
                comment: f.comment.clone(),
                agent_id: f.agent.clone(),
                visit_time: Some(ts(f.at)),
            }),
        create_time: Some(ts(t.created)),
        update_time: Some(ts(t.updated)),
        resolve_time: t.resolved.map(ts),
        close_time: t.closed.map(ts),
        clocks: clocks.iter().map(|k| clock(t, k)).collect(),
        breaches: t
            .breaches
            .iter()
            .map(|b| ProtoBreach {
                clock: b.clock.as_str().into(),
                due_time: Some(ts(b.due)),
                owner_agent_id: b.owner.clone().unwrap_or_default(),
            })
            .collect(),
        order_line_id: t.order_line_id.clone(),
        facts: t.facts.clone(),
    }
}

fn state_name(v: i16) -> &'static str {
    State::from_i32(v as i32).map_or("", |s| s.as_str())
}

/// An audit row as the contract shows it.
pub fn audit_entry(a: &kit::audit::Stored) -> AuditEntry {
    kit::audit::stored_entry(a, state_name)
}
