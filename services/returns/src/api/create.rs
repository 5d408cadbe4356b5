//! Filing and revising a request: the order's facts come from the order directory
//! (never from the caller), eligibility is decided on them, and a new request is
//! written in one statement with its idempotency claim, units, audit row and outbox.

use aftersales_proto::aftersales::{
    platform::v1::OrderLine,
    returns::v1::{CreateReturnRequest, Return, ReviseReturnRequest},
};
use chrono::Utc;
use kit::{Error, auth::Principal, idempotency, outbox::Batch};
use prost::Message;
use uuid::Uuid;

use super::{Api, transitions::Step};
use crate::{
    domain::{
        amounts,
        case::{Case, Clock, Party, Refunds},
        clocks::ClockKind,
        eligibility::{self, Ask},
        kinds::State,
        machine::{Command, Effect},
        shipping, voucher,
    },
    effects,
    error::{not_found, quantity_exceeds_returnable},
    names::return_id,
    parse, render,
    store::{self, WriteError},
    transition,
};

const CREATE: &str = "CreateReturn";

/// What `quantity` of the line's units cost (see [`amounts::pro_rata`]).
fn pro_rata(line: &OrderLine, quantity: u32) -> i64 {
    let paid = line.paid_amount.as_ref().map_or(0, |m| m.amount_minor);
    amounts::pro_rata(paid, line.quantity, quantity)
}

impl Api {
    /// The stored answer of an earlier call with this `request_id`, if there is one.
    async fn replay<M: Message>(
        &self,
        who: &Principal,
        request_id: &str,
        request: &M,
    ) -> kit::Result<Option<Return>> {
        let caller = who.caller_key();
        idempotency::earlier_answer(&self.pool, (&caller, CREATE, request_id), request).await
    }

    /// CreateReturn.
    pub(super) async fn create(
        &self,
        who: &Principal,
        r: CreateReturnRequest,
    ) -> kit::Result<Return> {
        let new = parse::create(&r, who)?;
        let (kind, reason) = (new.kind, new.reason);
        let order = kit::platform::buyers_order(&self.peers, &new.order_id, &new.buyer).await?;
        let line = order
            .lines
            .iter()
            .find(|l| l.id == r.order_line_id)
            .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
        let policy = self.policies.get(&self.pool, &order.merchant_id).await?;
        let platform = self.platform.get(&self.pool).await?;
        // Units already in other requests are checked by the database as the request is
        // inserted (a CHECK constraint): here only against what was bought.
        let claimed = 0;
        let now = Utc::now();
        let ask = Ask {
            kind,
            reason,
            quantity: r.quantity,
            has_evidence: !r.evidence.is_empty(),
        };
        let facts = parse::facts(&order, line, claimed, now);
        // seed 001 §7.4: without the voucher, the platform's own records prove the purchase
        let voucher_check = match r.purchase_voucher_lost {
            false => None,
            true => match voucher::verify(&facts, now) {
                Ok(check) => Some(check),
                // a retry of a request filed before the order's records changed is
                // answered as the first time
                Err(u) => {
                    return match self.replay(who, &r.request_id, &r).await? {
                        Some(answer) => Ok(answer),
                        None => Err(kit::platform::voucher_not_verifiable(&u.missing)),
                    };
                }
            },
        };
        let admitted = match eligibility::decide(ask, &facts, &policy, &platform) {
            Ok(a) => a,
            // A retry of a request filed just before its window closed is answered as the
            // first time, not refused.
            Err(why) => {
                return match self.replay(who, &r.request_id, &r).await? {
                    Some(answer) => Ok(answer),
                    None => Err(why.into()),
                };
            }
        };
        let currency = line
            .paid_amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_else(|| "CNY".into());
        let mut case = Case {
            id: Uuid::now_v7(),
            kind,
            state: State::Requested,
            order_id: new.order_id.clone(),
            order_line_id: line.id.clone(),
            quantity: r.quantity,
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            category: line.category.clone(),
            region: order.region.clone(),
            reason,
            description: r.description.clone(),
            evidence: parse::evidence(&r.evidence),
            exchange_sku: r.exchange_sku.clone(),
            eligibility_rule: admitted.rule,
            window_end: admitted.window_end,
            line_amount_minor: pro_rata(line, r.quantity),
            currency,
            clock: Some(Clock {
                kind: ClockKind::MerchantReview,
                start: now,
                due: None,
                seq: 1,
                escalated: None,
            }),
            clock_seq: 1,
            approval: None,
            rejection: None,
            return_parcel: None,
            inspection: None,
            replacement_parcel: None,
            shipping: shipping::allocate(
                reason,
                &policy,
                order.shipping_insurance,
                platform.shipping_cap_minor,
            ),
            refunds: Refunds::default(),
            overdue_since: None,
            late_days: 0,
            penalty_minor: 0,
            dispute: None,
            dispute_origin: None,
            first_response: None,
            created: now,
            updated: now,
            closed: None,
            refund_problems: Vec::new(),
            step: 0,
            voucher_check,
        };
        transition::date_clock(&self.settings, &policy, &mut case);

        // The answer is the request as inserted: stored with the claim (one round trip less).
        let answer = render::request(&case, now);
        let span = effects::running_span(&self.settings, &case, &policy);
        let fx = [
            Effect::StartClock,
            Effect::Notify {
                to: Party::Merchant,
                template: "return_to_review",
            },
            Effect::Notify {
                to: Party::Buyer,
                template: "return_requested",
            },
        ];
        let mut out = Batch::default();
        effects::write(&mut out, &case, &fx, span.as_ref());
        effects::requested(&mut out, &case);
        let caller = who.caller_key();
        let key = (caller.as_str(), CREATE, r.request_id.as_str());
        let claim = idempotency::Answered::new(key, &r, &answer);
        let mut conn = self.pool.acquire().await?;
        let actor = (who.role.as_str(), who.id.as_str());
        match store::create(&mut conn, &case, line.quantity, actor, claim, out).await {
            Ok(true) => Ok(answer),
            // A duplicate request_id: answer as the first time (or refuse another payload).
            Ok(false) => idempotency::replay_duplicate(&mut conn, key, &r).await,
            Err(WriteError::Units) => {
                let claimed = store::claimed(&mut conn, &new.order_id, &line.id).await?;
                let left = line.quantity.saturating_sub(claimed);
                Err(quantity_exceeds_returnable(format!(
                    "{left} of {} units can still be requested",
                    line.quantity
                )))
            }
            Err(WriteError::Db(e)) => Err(e.into()),
        }
    }

    /// ReviseReturn: eligibility is decided again on the new values, from fresh order
    /// facts; the units claimed move by the difference in the same transaction.
    pub(super) async fn revise(
        &self,
        who: &Principal,
        r: ReviseReturnRequest,
    ) -> kit::Result<Return> {
        let (new_kind, new_reason) = parse::revise(&r)?;
        let id = return_id("name", &r.name)?;
        let current = self.visible(who, id, &r.name).await?;
        let order = kit::platform::order(&self.peers, &current.order_id).await?;
        let line = order
            .lines
            .iter()
            .find(|l| l.id == current.order_line_id)
            .ok_or_else(|| not_found(&r.name))?;
        let kind = new_kind.unwrap_or(current.kind);
        let reason = new_reason.unwrap_or(current.reason);
        let quantity = if r.quantity == 0 {
            current.quantity
        } else {
            r.quantity
        };
        let (policy, claimed) = store::policy_and_claimed(
            &mut *self.pool.acquire().await?,
            &current.merchant_id,
            &current.order_id,
            &current.order_line_id,
        )
        .await?;
        let policy = policy.unwrap_or_default();
        let platform = self.platform.get(&self.pool).await?;
        let others = claimed.saturating_sub(current.quantity);
        let has_evidence = !r.evidence.is_empty() || !current.evidence.is_empty();
        let ask = Ask {
            kind,
            reason,
            quantity,
            has_evidence,
        };
        let facts = parse::facts(&order, line, others, Utc::now());
        let admitted = eligibility::decide(ask, &facts, &policy, &platform)?;
        let keep = |new: &str, old: &str| if new.is_empty() { old } else { new }.to_string();
        let cmd = Command::Revise {
            kind,
            reason,
            quantity,
            description: keep(&r.description, &current.description),
            evidence: parse::evidence(&r.evidence),
            exchange_sku: keep(&r.exchange_sku, &current.exchange_sku),
            rule: admitted.rule,
            window_end: admitted.window_end,
            line_amount_minor: pro_rata(line, quantity),
            shipping: shipping::allocate(
                reason,
                &policy,
                order.shipping_insurance,
                platform.shipping_cap_minor,
            ),
        };
        let step = Step {
            units: Some((line.quantity, quantity)),
            ..Step::new(&r.name, "ReviseReturn", &r.request_id, "revised")
        };
        self.act(who, step, &r, |_| Ok(cmd)).await
    }
}
