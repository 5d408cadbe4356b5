//! The parties' steps on a ticket, each one transaction: the idempotency claim, the
//! ticket locked (concurrent steps serialise on it: ten agents claiming at once make
//! one owner), the transition with its audit and outbox rows, the answer stored.

use aftersales_proto::aftersales::complaints::v1::{
    ClaimComplaintRequest, CloseComplaintRequest, Complaint, EscalateComplaintRequest,
    IssueRulingRequest, ProposeResolutionRequest, RecordExecutionRequest, RecordFollowUpRequest,
    RequestMerchantEvidenceRequest, RespondToProposalRequest, SubmitEvidenceRequest,
    TransferComplaintRequest,
};
use chrono::Utc;
use kit::{
    auth::{Principal, Role},
    idempotency::{self, Claim},
};
use prost::Message;

use super::Api;
use crate::{
    domain::{escalation::EXPERT_GROUP, machine::Command, ticket::Ticket},
    error::not_found,
    parse::{
        self,
        Recorded::{Parcel, State},
    },
    render, store,
    transition::{self, By},
};

/// One step: which complaint, under which method and request id, why (for the audit).
struct Step<'a> {
    name: &'a str,
    method: &'static str,
    request_id: &'a str,
    reason: &'a str,
}

/// First-contact ownership (seed 002) for the steps the domain leaves to the caller's
/// door: only the owner, or an admin explicitly, `does` them.
fn owners_step(who: &Principal, t: &Ticket, does: &str) -> kit::Result<()> {
    if who.role == Role::Admin || t.owner.as_deref() == Some(who.id.as_str()) {
        return Ok(());
    }
    Err(kit::Error::PermissionDenied(format!(
        "only the complaint's owner {does} it"
    )))
}

impl Api {
    async fn act<M: Message>(
        &self,
        who: &Principal,
        step: Step<'_>,
        request: &M,
        command: impl FnOnce(&Ticket) -> kit::Result<Command>,
    ) -> kit::Result<Complaint> {
        let id = parse::id(step.name)?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, step.method, step.request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = store::lock(&mut tx, id)
            .await?
            .filter(|t| who.can_see_case(&t.buyer_id, &t.merchant_id))
            .ok_or_else(|| not_found(step.name))?;
        let cmd = command(&before)?;
        let role = who.role.to_string();
        let by = By {
            role: &role,
            id: &who.id,
            reason: step.reason,
            request_id: step.request_id,
        };
        // a refusal drops `tx`: the claim goes with it and nothing was written
        let after =
            transition::apply(&mut tx, &self.settings, &before, cmd, by, Utc::now()).await?;
        let answer = render::complaint(&after, who);
        idempotency::complete(&mut tx, &caller, step.method, step.request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    fn actor(&self, who: &Principal) -> crate::domain::machine::Actor {
        // an arbitrator's expert groups: its token's group claims, and the default group
        // for the configured arbitrator ids
        let mut groups = Vec::new();
        if who.role == Role::Arbitrator {
            groups.clone_from(&who.groups);
            if self.settings.experts.contains(&who.id) && !who.in_group(EXPERT_GROUP) {
                groups.push(EXPERT_GROUP.to_string());
            }
        }
        parse::actor(who, groups)
    }

    pub(super) async fn claim(
        &self,
        who: &Principal,
        r: ClaimComplaintRequest,
    ) -> kit::Result<Complaint> {
        let mut v = kit::error::Violations::new();
        kit::validate::request_id(&mut v, &r.request_id);
        v.finish()?;
        let step = Step {
            name: &r.name,
            method: "ClaimComplaint",
            request_id: &r.request_id,
            reason: "",
        };
        let agent = who.id.clone();
        self.act(who, step, &r, |_| Ok(Command::Claim { agent }))
            .await
    }

    pub(super) async fn transfer(
        &self,
        who: &Principal,
        r: TransferComplaintRequest,
    ) -> kit::Result<Complaint> {
        let (to, reason) = parse::transfer(&r)?;
        let by = self.actor(who);
        let step = Step {
            name: &r.name,
            method: "TransferComplaint",
            request_id: &r.request_id,
            reason: &r.reason,
        };
        self.act(who, step, &r, |_| Ok(Command::Transfer { by, to, reason }))
            .await
    }

    pub(super) async fn request_evidence(
        &self,
        who: &Principal,
        r: RequestMerchantEvidenceRequest,
    ) -> kit::Result<Complaint> {
        let (text, deadline) = parse::request_evidence(&r)?;
        let by = self.actor(who);
        let step = Step {
            name: &r.name,
            method: "RequestMerchantEvidence",
            request_id: &r.request_id,
            reason: "",
        };
        self.act(who, step, &r, |_| {
            Ok(Command::RequestEvidence { by, text, deadline })
        })
        .await
    }

    pub(super) async fn submit_evidence(
        &self,
        who: &Principal,
        r: SubmitEvidenceRequest,
    ) -> kit::Result<Complaint> {
        let (statement, evidence) = parse::submit_evidence(&r)?;
        let by = self.actor(who);
        let step = Step {
            name: &r.name,
            method: "SubmitEvidence",
            request_id: &r.request_id,
            reason: "",
        };
        self.act(who, step, &r, |_| {
            Ok(Command::SubmitEvidence {
                by,
                statement,
                evidence,
            })
        })
        .await
    }

    pub(super) async fn propose(
        &self,
        who: &Principal,
        r: ProposeResolutionRequest,
    ) -> kit::Result<Complaint> {
        let (summary, remedies) = parse::propose(&r)?;
        let by = self.actor(who);
        let step = Step {
            name: &r.name,
            method: "ProposeResolution",
            request_id: &r.request_id,
            reason: &r.summary,
        };
        self.act(who, step, &r, |_| {
            Ok(Command::Propose {
                by,
                summary,
                remedies,
            })
        })
        .await
    }

    pub(super) async fn respond(
        &self,
        who: &Principal,
        r: RespondToProposalRequest,
    ) -> kit::Result<Complaint> {
        parse::respond(&r)?;
        let step = Step {
            name: &r.name,
            method: "RespondToProposal",
            request_id: &r.request_id,
            reason: &r.comment,
        };
        let (accept, comment) = (r.accept, r.comment.clone());
        self.act(who, step, &r, |_| Ok(Command::Respond { accept, comment }))
            .await
    }

    pub(super) async fn rule(
        &self,
        who: &Principal,
        r: IssueRulingRequest,
    ) -> kit::Result<Complaint> {
        let n = parse::rule(&r)?;
        let by = self.actor(who);
        let step = Step {
            name: &r.name,
            method: "IssueRuling",
            request_id: &r.request_id,
            reason: &r.basis,
        };
        self.act(who, step, &r, |t| {
            // a return's dispute: the return refunds the goods itself on the outcome, so
            // a refund remedy here would pay them twice
            if t.subject_case.as_deref().is_some_and(|c| c.starts_with("returns/"))
                && n.remedies.iter().any(|x| x.kind == crate::domain::kinds::RemedyKind::Refund)
            {
                return Err(kit::Error::invalid(
                    "remedies",
                    "the return refunds the goods on the outcome; order compensation for anything beyond",
                ));
            }
            Ok(Command::Rule {
                by,
                basis: n.basis,
                liability: n.liability,
                outcome: n.outcome,
                remedies: n.remedies,
                summary: n.summary,
                pays_first: n.pays_first,
            })
        })
        .await
    }

    pub(super) async fn escalate(
        &self,
        who: &Principal,
        r: EscalateComplaintRequest,
    ) -> kit::Result<Complaint> {
        let (group, reason) = parse::escalate(&r)?;
        let group = if group.is_empty() {
            EXPERT_GROUP.to_string()
        } else {
            group
        };
        let step = Step {
            name: &r.name,
            method: "EscalateComplaint",
            request_id: &r.request_id,
            reason: &r.reason,
        };
        self.act(who, step, &r, |t| {
            // the owner's call (or an admin's); an unowned ticket is the queue's
            owners_step(who, t, "escalates")?;
            Ok(Command::Escalate {
                group,
                reason,
                automatic: false,
            })
        })
        .await
    }

    pub(super) async fn record_execution(
        &self,
        who: &Principal,
        r: RecordExecutionRequest,
    ) -> kit::Result<Complaint> {
        let (remedy, recorded) = parse::record_execution(&r)?;
        let step = Step {
            name: &r.name,
            method: "RecordExecution",
            request_id: &r.request_id,
            reason: &r.note,
        };
        self.act(who, step, &r, |t| {
            match &recorded {
                // the shop's own reship (`act` found the ticket the merchant's)
                Parcel { .. } if who.role == Role::Merchant => {}
                _ if who.role == Role::Merchant => {
                    return Err(kit::Error::PermissionDenied(
                        "a merchant records only its reship's parcel".into(),
                    ));
                }
                _ if t.owner.is_some() => owners_step(who, t, "records a remedy's execution on")?,
                _ => {}
            }
            Ok(match recorded {
                Parcel { carrier, tracking } => Command::ReshipShipped {
                    remedy,
                    carrier,
                    tracking,
                },
                State {
                    execution,
                    reference,
                } => Command::RecordExecution {
                    remedy,
                    execution,
                    reference,
                },
            })
        })
        .await
    }

    pub(super) async fn follow_up(
        &self,
        who: &Principal,
        r: RecordFollowUpRequest,
    ) -> kit::Result<Complaint> {
        let (satisfaction, resolved, comment) = parse::follow_up(&r)?;
        let step = Step {
            name: &r.name,
            method: "RecordFollowUp",
            request_id: &r.request_id,
            reason: &r.comment,
        };
        let agent = who.id.clone();
        self.act(who, step, &r, |_| {
            Ok(Command::FollowUp {
                agent,
                satisfaction,
                resolved,
                comment,
            })
        })
        .await
    }

    pub(super) async fn close(
        &self,
        who: &Principal,
        r: CloseComplaintRequest,
    ) -> kit::Result<Complaint> {
        let (cause, summary) = parse::close(&r)?;
        let step = Step {
            name: &r.name,
            method: "CloseComplaint",
            request_id: &r.request_id,
            reason: &r.cause,
        };
        self.act(who, step, &r, |t| {
            // an unowned ticket cannot be resolved: the state check refuses it
            if t.owner.is_some() {
                owners_step(who, t, "closes")?;
            }
            Ok(Command::Close { cause, summary })
        })
        .await
    }
}
