//! CreateComplaint: the order's facts from the order directory (never from the caller),
//! a buyer filing for their own order only, idempotent by `request_id`.

use aftersales_proto::aftersales::complaints::v1::{Complaint, CreateComplaintRequest};
use chrono::Utc;
use kit::{Error, auth::Principal, idempotency};

use super::Api;
use crate::{
    domain::kinds::Origin,
    domain::ticket::Submission,
    intake::{self, Intake},
    parse, records, render,
};

const CREATE: &str = "CreateComplaint";

impl Api {
    /// The new ticket's facts: the order's from the order directory (a buyer's own order
    /// only), the line, the claim in the order's currency, the platform's records.
    async fn intake(
        &self,
        who: &Principal,
        r: &CreateComplaintRequest,
        new: parse::NewComplaint,
        now: chrono::DateTime<Utc>,
    ) -> kit::Result<Intake> {
        let order = kit::platform::buyers_order(&self.peers, &new.order_id, &new.buyer).await?;
        let line = if r.order_line_id.is_empty() {
            order.lines.first()
        } else {
            order.lines.iter().find(|l| l.id == r.order_line_id)
        }
        .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
        let paid = line.paid_amount.clone().unwrap_or_default();
        // money is in the order's currency; the claim is what the buyer asks, the amount
        // at stake (escalation, remedy bounds) is what the line cost
        let claim_minor = match &new.claim_minor {
            Some((_, c)) if *c != paid.currency => {
                return Err(Error::invalid(
                    "claim_amount.currency",
                    format!("the order was paid in {}", paid.currency),
                ));
            }
            Some((a, _)) => *a,
            None => paid.amount_minor,
        };
        let currency = paid.currency.clone();
        let evidence = parse::evidence(&r.evidence);
        Ok(Intake {
            channel: new.channel,
            priority: new.priority,
            origin: Origin::Buyer,
            subject_case: (!r.subject_case.is_empty()).then(|| r.subject_case.clone()),
            order_id: new.order_id.clone(),
            order_line_id: line.id.clone(),
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            category: if r.category.is_empty() {
                line.category.clone()
            } else {
                r.category.clone()
            },
            region: order.region.clone(),
            merchant_region: order.merchant_region.clone(),
            problem: r.problem.clone(),
            demand: r.demand.clone(),
            contact: new.contact,
            claim_minor,
            currency,
            carrier: order.carrier_code.clone(),
            paid_minor: paid.amount_minor,
            // a case the caller names is a label: its records are attached only to the
            // platform's own dispute tickets (a caller could name anybody's case)
            platform_records: records::attach(&self.peers, &order, None, now).await,
            first_evidence: (!evidence.is_empty()).then(|| Submission {
                role: who.role.to_string(),
                actor_id: who.id.clone(),
                statement: String::new(),
                evidence,
                at: now,
            }),
        })
    }

    pub(super) async fn create(
        &self,
        who: &Principal,
        r: CreateComplaintRequest,
    ) -> kit::Result<Complaint> {
        let new = parse::create(&r, who)?;
        let caller = who.caller_key();
        let key = (caller.as_str(), CREATE, r.request_id.as_str());
        let now = Utc::now();
        let intake = match self.intake(who, &r, new, now).await {
            Ok(i) => i,
            // a retry of a filing that was made is answered as the first time, even
            // while the order directory is down or the order has changed since
            Err(e) => {
                return match idempotency::earlier_answer(&self.pool, key, &r).await? {
                    Some(answer) => Ok(answer),
                    None => Err(e),
                };
            }
        };
        let mut conn = self.pool.acquire().await?;
        let (t, out) = intake::prepare(&mut conn, &self.settings, intake, now).await?;
        // the answer is the ticket as inserted: stored with the claim, in the same statement
        let answer = render::complaint(&t, who);
        let claim = idempotency::Answered::new(key, &r, &answer);
        let actor = (who.role.as_str(), who.id.as_str());
        let fresh = intake::write(&mut conn, &t, out, actor, &r.request_id, Some(claim)).await?;
        if !fresh {
            // a duplicate request_id: the first call's answer (or its refusal)
            return idempotency::replay_duplicate(&mut conn, key, &r).await;
        }
        tracing::info!(complaint = %t.name(), number = %t.number, "complaint opened");
        Ok(answer)
    }
}
