//! A complaint ticket as the domain sees it: everything the state machine decides on,
//! stored as one document (the store adds the columns that lists and constraints need).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    clocks::{Breach, Clock},
    kinds::{Execution, Liability, Origin, Outcome, Priority, RemedyKind, State},
};

/// A piece of evidence, by reference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub uri: String,
    pub kind: i32,
    pub description: String,
    pub sha256: String,
}

/// How the complainant can be reached (never shown to the merchant).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub social_account: String,
}

/// Evidence one party gave at one time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// "buyer", "merchant", "agent", "service".
    pub role: String,
    pub actor_id: String,
    pub statement: String,
    pub evidence: Vec<Evidence>,
    pub at: DateTime<Utc>,
}

/// The owner's request for the merchant's evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRequest {
    pub text: String,
    pub due: Option<DateTime<Utc>>,
    pub fulfilled: Option<DateTime<Utc>>,
    pub expired: bool,
}

/// One remedy of a proposal or ruling, and its execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remedy {
    /// "1", "2", ... within the complaint.
    pub id: String,
    pub kind: RemedyKind,
    pub amount_minor: i64,
    pub borne_by: Option<Liability>,
    pub note: String,
    pub execution: Execution,
    /// What executed it, e.g. "refunds/{id}".
    pub reference: String,
    pub done: Option<DateTime<Utc>>,
    /// When its execution was ordered (the agreement or the ruling): a reship's parcel
    /// delivered before it was some other trip of that tracking number.
    #[serde(default)]
    pub ordered: Option<DateTime<Utc>>,
}

/// A proposal to the buyer and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub summary: String,
    pub remedies: Vec<Remedy>,
    pub at: DateTime<Utc>,
    pub accepted: Option<bool>,
    pub comment: String,
    pub answered: Option<DateTime<Utc>>,
}

/// The platform's ruling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ruling {
    pub basis: String,
    pub liability: Liability,
    pub outcome: Outcome,
    pub remedies: Vec<Remedy>,
    pub summary: String,
    pub arbitrator: String,
    pub at: DateTime<Utc>,
    /// Facts the platform recorded that the ruling rests on (e.g. the merchant's silence).
    pub facts: Vec<String>,
    /// The platform pays the merchant's remedies first, owed by its deposit.
    #[serde(default)]
    pub platform_pays_first: bool,
}

/// Escalation to the expert group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub group: String,
    pub reason: String,
    pub automatic: bool,
    pub at: DateTime<Utc>,
}

/// The follow-up visit after closure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// 1-5.
    pub satisfaction: u32,
    pub resolved: bool,
    pub comment: String,
    pub agent: String,
    pub at: DateTime<Utc>,
}

/// A complaint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    /// "TS20261203-000042".
    pub number: String,
    pub state: State,
    pub channel: i32,
    pub priority: Priority,
    pub origin: Origin,
    /// The case it is about, e.g. "returns/{id}".
    pub subject_case: Option<String>,
    pub order_id: String,
    /// The line the complaint is about (a dispute's; else the one named, or the order's
    /// first): what a refund remedy draws on.
    pub order_line_id: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    pub problem: String,
    pub demand: String,
    pub contact: Contact,
    pub claim_minor: i64,
    /// What the line cost (from the order directory): the most money remedies may pay.
    #[serde(default)]
    pub paid_minor: i64,
    pub currency: String,
    pub evidence: Vec<Submission>,
    pub owner: Option<String>,
    pub claimed: Option<DateTime<Utc>>,
    pub evidence_request: Option<EvidenceRequest>,
    pub proposal: Option<Proposal>,
    pub ruling: Option<Ruling>,
    /// The remedies being executed (the accepted proposal's or the ruling's).
    pub remedies: Vec<Remedy>,
    pub escalation: Option<Escalation>,
    /// The clocks running now.
    pub clocks: Vec<Clock>,
    /// The last clock number used (timer ids are never reused).
    pub clock_seq: u32,
    pub breaches: Vec<Breach>,
    /// Facts the platform records as the case goes (a silence, a missed answer).
    pub facts: Vec<String>,
    pub cause: String,
    pub close_summary: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub resolved: Option<DateTime<Utc>>,
    pub closed: Option<DateTime<Utc>>,
    /// Transitions applied: the step a notification belongs to (once per step and party).
    pub step: u32,
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
    /// The carrier of the original delivery (who owes what the platform paid first for
    /// a loss in transit).
    #[serde(default)]
    pub carrier: String,
}

impl Ticket {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("complaints/{}", self.id)
    }

    /// The running clock of `kind`, if any.
    pub fn clock(&self, kind: super::clocks::ClockKind) -> Option<&Clock> {
        self.clocks.iter().find(|c| c.kind == kind)
    }
}
