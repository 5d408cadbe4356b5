//! gRPC surface of `returns`: authorise, parse the request (collecting every bad field),
//! fetch the order's facts, then one transaction per change through [`flow`].

use std::sync::Arc;

use aftersales_proto::aftersales::{
    platform::v1::{Order, OrderLine},
    returns::v1::{
        AppealReturnRequest, ApproveReturnRequest, CancelReturnRequest, ConfirmReplacementRequest,
        CreateReturnRequest, GetMerchantPolicyRequest, GetReturnRequest, InspectReturnRequest,
        InspectionResult, ListReturnAuditRequest, ListReturnAuditResponse, ListReturnsRequest,
        ListReturnsResponse, MerchantPolicy, RejectReturnRequest, Return, ReturnState,
        ReviseReturnRequest, ShipReplacementRequest, SubmitReturnShipmentRequest,
        UpsertMerchantPolicyRequest, returns_service_server::ReturnsService,
    },
};
use chrono::{DateTime, Utc};
use kit::{
    Error,
    auth::{Principal, Role, principal},
    client::Peers,
    error::Violations,
    idempotency::{self, Claim},
    outbox::Batch,
    page::{self, Page},
    time::from_ts,
    validate,
};
use prost::Message;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    convert,
    domain::{
        amounts,
        case::{Case, Clock, Refunds},
        clocks::ClockKind,
        eligibility::{self, Ask, Facts},
        kinds::{Family, Kind, Reason, State},
        machine::{Command, Effect},
        policy::Policy,
        shipping,
    },
    effects,
    flow::{self, By},
    policies::Policies,
    settings::Settings,
    store::{self, After, Filter, WriteError},
};

/// The full gRPC name of the service, for the policy table.
pub const SERVICE: &str = "aftersales.returns.v1.ReturnsService";

/// What the API's calls share: Postgres, the platform peers, the settings and the
/// merchant policy cache.
pub struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
    policies: Policies,
}

impl Api {
    /// The API over the service's pool, peers and settings.
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>) -> Self {
        Self {
            pool,
            peers,
            settings,
            policies: Policies::default(),
        }
    }
}

/// `returns/{uuid}` -> the id.
pub fn return_id(name: &str) -> Result<Uuid, Error> {
    kit::names::parse("name", "returns", name)
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "return",
        name: name.to_string(),
    }
}

/// Which transition an API call asks for.
struct Step<'a> {
    name: &'a str,
    method: &'a str,
    request_id: &'a str,
    reason: &'a str,
    /// ReviseReturn: the line's units bought and this request's new quantity; the claim
    /// moves by the difference to the quantity read under the lock, in the same
    /// transaction (the CHECK refuses units another request holds).
    units: Option<(u32, u32)>,
}

impl<'a> Step<'a> {
    fn new(name: &'a str, method: &'a str, request_id: &'a str, reason: &'a str) -> Self {
        Self {
            name,
            method,
            request_id,
            reason,
            units: None,
        }
    }
}

fn units_taken() -> Error {
    Error::FailedPrecondition {
        reason: "QUANTITY_EXCEEDS_RETURNABLE",
        kind: "ELIGIBILITY",
        subject: "order line".into(),
        description: "these units are already in another request".into(),
    }
}

fn refused(r: eligibility::Refused) -> Error {
    Error::FailedPrecondition {
        reason: r.rule,
        kind: "ELIGIBILITY",
        subject: "order line".into(),
        description: r.why,
    }
}

/// A parcel's carrier and tracking number.
fn parcel(v: &mut Violations, carrier: &str, tracking: &str) {
    validate::carrier_code(v, "carrier_code", carrier);
    validate::tracking_number(v, "tracking_number", tracking);
}

/// The facts eligibility is decided on, from the order.
fn facts(order: &Order, line: &OrderLine, claimed: u32, now: DateTime<Utc>) -> Facts {
    let t = |t: &Option<prost_types::Timestamp>| t.as_ref().and_then(from_ts);
    Facts {
        now,
        signed_for: t(&order.signed_for_time),
        shipped: t(&order.shipped_time),
        promised_ship: t(&order.promised_ship_time),
        promised_delivery: t(&order.promised_delivery_time),
        cancelled: order.cancelled,
        category: line.category.clone(),
        special_goods: !line.special_goods.is_empty(),
        line_quantity: line.quantity,
        claimed,
    }
}

/// What `quantity` of the line's units cost (see [`amounts::pro_rata`]).
fn pro_rata(line: &OrderLine, quantity: u32) -> i64 {
    let paid = line.paid_amount.as_ref().map_or(0, |m| m.amount_minor);
    amounts::pro_rata(paid, line.quantity, quantity)
}

impl Api {
    async fn order(&self, order_id: &str) -> Result<Order, Error> {
        kit::platform::order(&self.peers, order_id).await
    }

    /// The stored answer of an earlier call with this `request_id`, if there is one.
    async fn replay<M: Message>(
        &self,
        who: &Principal,
        method: &str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Return>, Error> {
        let mut tx = self.pool.begin().await?;
        match idempotency::claim(&mut tx, &who.caller_key(), method, request_id, request).await? {
            Claim::Replay(bytes) => Ok(Some(idempotency::decode_replay(&bytes)?)),
            // nothing stored: the claim just taken is rolled back with `tx`
            Claim::Fresh => Ok(None),
        }
    }

    /// A transition requested through the API: idempotent by `request_id`, on a request
    /// the caller may see, with the command built from the locked request.
    async fn act<M: Message>(
        &self,
        who: &Principal,
        step: Step<'_>,
        request: &M,
        build: impl FnOnce(&Case) -> Result<Command, Error>,
    ) -> Result<Return, Error> {
        let Step {
            name,
            method,
            request_id,
            reason,
            units,
        } = step;
        let id = return_id(name)?;
        idempotency::parse_request_id(request_id).map_err(|e| Error::invalid("request_id", e))?;
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &who.caller_key(), method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = store::lock(&mut tx, id)
            .await?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(name))?;
        let delta =
            units.map(|(bought, quantity)| (bought, quantity as i32 - before.quantity as i32));
        if let Some((bought, delta)) = delta.filter(|(_, d)| *d != 0) {
            match store::claim_units(
                &mut tx,
                &before.order_id,
                &before.order_line_id,
                bought,
                delta,
            )
            .await
            {
                Ok(()) => {}
                Err(WriteError::Units) => return Err(units_taken()),
                Err(WriteError::Db(e)) => return Err(e.into()),
            }
        }
        let cmd = build(&before)?;
        let policy = flow::policy(&mut tx, &before.merchant_id).await?;
        let by = By {
            role: who.role.as_str(),
            id: &who.id,
            reason,
            request_id,
        };
        let after = flow::transition(
            &mut tx,
            &self.settings,
            &policy,
            &before,
            cmd,
            by,
            Utc::now(),
        )
        .await?;
        let answer = convert::request(&after, Utc::now());
        idempotency::complete(&mut tx, &who.caller_key(), method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }
}

#[tonic::async_trait]
impl ReturnsService for Api {
    async fn upsert_merchant_policy(
        &self,
        req: Request<UpsertMerchantPolicyRequest>,
    ) -> Result<Response<MerchantPolicy>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let p = r.policy.clone().unwrap_or_default();
        let merchant = p
            .name
            .strip_prefix("merchants/")
            .and_then(|s| s.strip_suffix("/policy"))
            .unwrap_or("")
            .to_string();
        if merchant.is_empty() {
            v.add(
                "policy.name",
                "must look like merchants/{merchant_id}/policy",
            );
        } else if who.role == Role::Merchant && who.id != merchant {
            return Err(
                Error::PermissionDenied("a merchant publishes only its own policy".into()).into(),
            );
        }
        v.check("request_id", idempotency::parse_request_id(&r.request_id));
        let policy = convert::policy_in(&p);
        for (field, why) in policy.violations() {
            v.add(format!("policy.{field}"), why);
        }
        v.finish()?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        if let Claim::Replay(bytes) = idempotency::claim(
            &mut tx,
            &who.caller_key(),
            "UpsertMerchantPolicy",
            &r.request_id,
            &r,
        )
        .await?
        {
            return Ok(Response::new(idempotency::decode_replay(&bytes)?));
        }
        let updated = store::put_policy(&mut tx, &merchant, &policy)
            .await
            .map_err(Error::from)?;
        let answer = convert::policy_out(&merchant, &policy, Some(updated));
        idempotency::complete(
            &mut tx,
            &who.caller_key(),
            "UpsertMerchantPolicy",
            &r.request_id,
            &answer,
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        self.policies.forget(&merchant);
        Ok(Response::new(answer))
    }

    async fn get_merchant_policy(
        &self,
        req: Request<GetMerchantPolicyRequest>,
    ) -> Result<Response<MerchantPolicy>, Status> {
        let name = req.into_inner().name;
        let merchant = name
            .strip_prefix("merchants/")
            .and_then(|s| s.strip_suffix("/policy"))
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                Error::invalid("name", "must look like merchants/{merchant_id}/policy")
            })?;
        let (policy, updated) = match store::policy(
            &mut *self.pool.acquire().await.map_err(Error::from)?,
            merchant,
        )
        .await
        .map_err(Error::from)?
        {
            Some((p, t)) => (p, Some(t)),
            None => (Policy::default(), None),
        };
        Ok(Response::new(convert::policy_out(
            merchant, &policy, updated,
        )))
    }

    #[tracing::instrument(skip_all, fields(order = %req.get_ref().order_id))]
    async fn create_return(
        &self,
        req: Request<CreateReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let kind = Kind::from_i32(r.kind);
        if kind.is_none() {
            v.add("kind", "must be RETURN_REFUND, EXCHANGE or REFUND_ONLY");
        }
        let reason = Reason::from_i32(r.reason);
        if reason.is_none() {
            v.add("reason", "is required");
        }
        let order_id = r
            .order_id
            .strip_prefix("orders/")
            .unwrap_or(&r.order_id)
            .to_string();
        if order_id.is_empty() || order_id.len() > 100 {
            v.add("order_id", "is required");
        }
        if r.order_line_id.is_empty() || r.order_line_id.len() > 100 {
            v.add("order_line_id", "is required");
        }
        if r.quantity == 0 {
            v.add("quantity", "at least 1");
        }
        if reason.is_some_and(|x| x.family() != Family::NoReason) && r.description.trim().is_empty()
        {
            v.add(
                "description",
                "is required for quality and refund-only reasons",
            );
        }
        validate::text(&mut v, "description", &r.description, 2000);
        validate::evidence(&mut v, "evidence", &r.evidence);
        if !r.exchange_sku.is_empty() && kind != Some(Kind::Exchange) {
            v.add("exchange_sku", "only for EXCHANGE");
        }
        let buyer = match who.role {
            Role::Buyer => who.id.clone(),
            _ => {
                if r.on_behalf_of_buyer_id.is_empty() {
                    v.add("on_behalf_of_buyer_id", "an agent files for a named buyer");
                }
                r.on_behalf_of_buyer_id.clone()
            }
        };
        v.check("request_id", idempotency::parse_request_id(&r.request_id));
        v.finish()?;
        let (kind, reason) = (kind.expect("validated"), reason.expect("validated"));

        // Facts from the order directory; another buyer's order does not exist for you.
        let order = match self.order(&order_id).await {
            Ok(o) if o.buyer_id == buyer => o,
            Ok(_) | Err(Error::NotFound { .. }) => {
                return Err(Error::NotFound {
                    resource: "order",
                    name: format!("orders/{order_id}"),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        let line = order
            .lines
            .iter()
            .find(|l| l.id == r.order_line_id)
            .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
        let policy = self
            .policies
            .get(&self.pool, &order.merchant_id)
            .await
            .map_err(Error::from)?;
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
        let admitted = match eligibility::decide(ask, &facts(&order, line, claimed, now), &policy) {
            Ok(a) => a,
            // A retry of a request filed just before its window closed is answered as the
            // first time, not refused.
            Err(why) => {
                return match self.replay(&who, "CreateReturn", &r.request_id, &r).await? {
                    Some(answer) => Ok(Response::new(answer)),
                    None => Err(refused(why).into()),
                };
            }
        };

        let currency = line
            .paid_amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_else(|| "CNY".into());
        let estimate = line
            .shipping_fee_paid
            .as_ref()
            .map_or(0, |m| m.amount_minor);
        let mut case = Case {
            id: Uuid::now_v7(),
            kind,
            state: State::Requested,
            order_id: order_id.clone(),
            order_line_id: line.id.clone(),
            quantity: r.quantity,
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            category: line.category.clone(),
            region: order.region.clone(),
            reason,
            description: r.description.clone(),
            evidence: convert::evidence_in(&r.evidence),
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
            }),
            clock_seq: 1,
            approval: None,
            rejection: None,
            return_parcel: None,
            inspection: None,
            replacement_parcel: None,
            shipping: shipping::allocate(reason, &policy, order.shipping_insurance, estimate),
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
        };
        flow::date_clock(&self.settings, &policy, &mut case);

        // The answer is the request as inserted: stored with the claim (one round trip less).
        let answer = convert::request(&case, now);
        let span = effects::running_span(&self.settings, &case, &policy);
        let fx = [
            Effect::StartClock,
            Effect::Notify {
                to: crate::domain::case::Party::Merchant,
                template: "return_to_review",
            },
            Effect::Notify {
                to: crate::domain::case::Party::Buyer,
                template: "return_requested",
            },
        ];
        let mut out = Batch::default();
        effects::write(&mut out, &case, &fx, span.as_ref());
        effects::requested(&mut out, &case);
        let claim = store::Claim {
            caller: &who.caller_key(),
            method: "CreateReturn",
            request_id: &r.request_id,
            request_hash: idempotency::request_hash(&r),
            response: answer.encode_to_vec(),
        };
        let mut conn = self.pool.acquire().await.map_err(Error::from)?;
        let actor = (who.role.as_str(), who.id.as_str());
        match store::create(&mut conn, &case, line.quantity, actor, claim, out).await {
            Ok(true) => {}
            // A duplicate request_id: answer as the first time (or refuse another payload).
            Ok(false) => {
                let mut tx = sqlx::Connection::begin(&mut *conn)
                    .await
                    .map_err(Error::from)?;
                return match idempotency::claim(
                    &mut tx,
                    &who.caller_key(),
                    "CreateReturn",
                    &r.request_id,
                    &r,
                )
                .await?
                {
                    Claim::Replay(bytes) => Ok(Response::new(idempotency::decode_replay(&bytes)?)),
                    Claim::Fresh => {
                        Err(Error::Aborted("request_id claim vanished; retry".into()).into())
                    }
                };
            }
            Err(WriteError::Units) => {
                let claimed = store::claimed(&mut conn, &order_id, &line.id)
                    .await
                    .map_err(Error::from)?;
                let left = line.quantity.saturating_sub(claimed);
                return Err(Error::FailedPrecondition {
                    reason: "QUANTITY_EXCEEDS_RETURNABLE",
                    kind: "ELIGIBILITY",
                    subject: "order line".into(),
                    description: format!(
                        "{left} of {} units can still be requested",
                        line.quantity
                    ),
                }
                .into());
            }
            Err(WriteError::Db(e)) => return Err(Error::from(e).into()),
        }
        Ok(Response::new(answer))
    }

    async fn get_return(&self, req: Request<GetReturnRequest>) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let name = req.into_inner().name;
        let case = store::get(&self.pool, return_id(&name)?)
            .await
            .map_err(Error::from)?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(&name))?;
        Ok(Response::new(convert::request(&case, Utc::now())))
    }

    async fn list_returns(
        &self,
        req: Request<ListReturnsRequest>,
    ) -> Result<Response<ListReturnsResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let by_due = match r.order_by.as_str() {
            "" | "create_time desc" => false,
            "clock.due_time" => true,
            _ => {
                v.add("order_by", "\"create_time desc\" or \"clock.due_time\"");
                false
            }
        };
        if r.states
            .iter()
            .any(|s| *s <= 0 || ReturnState::try_from(*s).is_err())
        {
            v.add("states", "unknown state");
        }
        let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
            if by_due {
                page::parse_time_id(t).map(|(due, id)| After::Due(due, id))
            } else {
                page::parse_id(t).map(After::Id)
            }
        });
        let mut f = Filter {
            buyer_id: (!r.buyer_id.is_empty()).then(|| r.buyer_id.clone()),
            merchant_id: (!r.merchant_id.is_empty()).then(|| r.merchant_id.clone()),
            order_id: (!r.order_id.is_empty()).then(|| {
                r.order_id
                    .strip_prefix("orders/")
                    .unwrap_or(&r.order_id)
                    .to_string()
            }),
            states: r.states.iter().map(|s| *s as i16).collect(),
        };
        // Buyers see their own, merchants their shop's, whatever they filter on.
        match who.role {
            Role::Buyer => f.buyer_id = Some(who.id.clone()),
            Role::Merchant => {
                if f.merchant_id.as_ref().is_some_and(|m| *m != who.id) {
                    v.add("merchant_id", "a merchant lists only its own requests");
                }
                f.merchant_id = Some(who.id.clone());
            }
            _ => {}
        }
        v.finish()?;
        let after = page.after.clone().unwrap_or(After::Start);
        let mut rows = store::list(&self.pool, &f, by_due, &after, page.fetch())
            .await
            .map_err(Error::from)?;
        let next_page_token = page.finish(&mut rows, |(c, due)| token(c, *due, by_due));
        let now = Utc::now();
        Ok(Response::new(ListReturnsResponse {
            returns: rows.iter().map(|(c, _)| convert::request(c, now)).collect(),
            next_page_token,
        }))
    }

    async fn approve_return(
        &self,
        req: Request<ApproveReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.carrier_options.len() > 10
            || r.carrier_options
                .iter()
                .any(|c| c.is_empty() || c.len() > 32)
        {
            v.add("carrier_options", "at most 10 carrier codes");
        }
        validate::text(&mut v, "note", &r.note, 1000);
        v.finish()?;
        let address = r.return_address.as_ref().map(convert::address_in);
        let cmd = |_: &Case| {
            Ok(Command::Approve {
                address,
                carriers: r
                    .carrier_options
                    .iter()
                    .map(|c| c.to_ascii_lowercase())
                    .collect(),
                note: r.note.clone(),
                auto: false,
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "ApproveReturn", &r.request_id, &r.note),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn reject_return(
        &self,
        req: Request<RejectReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        validate::text(&mut v, "reason", &r.reason, 1000);
        validate::evidence(&mut v, "evidence", &r.evidence);
        v.finish()?;
        let cmd = |_: &Case| {
            Ok(Command::Reject {
                reason: r.reason.clone(),
                evidence: convert::evidence_in(&r.evidence),
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "RejectReturn", &r.request_id, &r.reason),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn cancel_return(
        &self,
        req: Request<CancelReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        validate::text(&mut v, "reason", &r.reason, 1000);
        v.finish()?;
        let cmd = |_: &Case| {
            Ok(Command::Cancel {
                reason: r.reason.clone(),
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "CancelReturn", &r.request_id, &r.reason),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn revise_return(
        &self,
        req: Request<ReviseReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.kind != 0 && Kind::from_i32(r.kind).is_none() {
            v.add("kind", "unknown kind");
        }
        if r.reason != 0 && Reason::from_i32(r.reason).is_none() {
            v.add("reason", "unknown reason");
        }
        validate::text(&mut v, "description", &r.description, 2000);
        validate::evidence(&mut v, "evidence", &r.evidence);
        v.finish()?;
        let id = return_id(&r.name)?;
        let current = store::get(&self.pool, id)
            .await
            .map_err(Error::from)?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(&r.name))?;
        // Eligibility is decided again on the new values, from fresh order facts.
        let order = self.order(&current.order_id).await?;
        let line = order
            .lines
            .iter()
            .find(|l| l.id == current.order_line_id)
            .ok_or_else(|| not_found(&r.name))?;
        let kind = Kind::from_i32(r.kind).unwrap_or(current.kind);
        let reason = Reason::from_i32(r.reason).unwrap_or(current.reason);
        let quantity = if r.quantity == 0 {
            current.quantity
        } else {
            r.quantity
        };
        let (policy, claimed) = store::policy_and_claimed(
            &mut *self.pool.acquire().await.map_err(Error::from)?,
            &current.merchant_id,
            &current.order_id,
            &current.order_line_id,
        )
        .await
        .map_err(Error::from)?;
        let policy = policy.unwrap_or_default();
        let others = claimed.saturating_sub(current.quantity);
        let has_evidence = !r.evidence.is_empty() || !current.evidence.is_empty();
        let admitted = eligibility::decide(
            Ask {
                kind,
                reason,
                quantity,
                has_evidence,
            },
            &facts(&order, line, others, Utc::now()),
            &policy,
        )
        .map_err(refused)?;
        let description = if r.description.is_empty() {
            current.description.clone()
        } else {
            r.description.clone()
        };
        let exchange_sku = if r.exchange_sku.is_empty() {
            current.exchange_sku.clone()
        } else {
            r.exchange_sku.clone()
        };
        let amount = pro_rata(line, quantity);
        let bought = line.quantity;
        let estimate = line
            .shipping_fee_paid
            .as_ref()
            .map_or(0, |m| m.amount_minor);
        let shipping = shipping::allocate(reason, &policy, order.shipping_insurance, estimate);
        let evidence = convert::evidence_in(&r.evidence);
        let cmd = move |_: &Case| {
            Ok(Command::Revise {
                kind,
                reason,
                quantity,
                description,
                evidence,
                exchange_sku,
                rule: admitted.rule,
                window_end: admitted.window_end,
                line_amount_minor: amount,
                shipping,
            })
        };
        let answer = self
            .act(
                &who,
                Step {
                    units: Some((bought, quantity)),
                    ..Step::new(&r.name, "ReviseReturn", &r.request_id, "revised")
                },
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn appeal_return(
        &self,
        req: Request<AppealReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        validate::text(&mut v, "statement", &r.statement, 4000);
        validate::evidence(&mut v, "evidence", &r.evidence);
        v.finish()?;
        let cmd = |_: &Case| {
            Ok(Command::Appeal {
                statement: r.statement.clone(),
                evidence: convert::evidence_in(&r.evidence),
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "AppealReturn", &r.request_id, &r.statement),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn submit_return_shipment(
        &self,
        req: Request<SubmitReturnShipmentRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        parcel(&mut v, &r.carrier_code, &r.tracking_number);
        if let Some(m) = &r.shipping_cost
            && (m.amount_minor < 0 || m.currency.len() != 3)
        {
            v.add("shipping_cost", "not negative, with an ISO-4217 currency");
        }
        v.finish()?;
        let cost = r.shipping_cost.clone();
        let cmd = |c: &Case| {
            if let Some(m) = &cost
                && m.currency != c.currency
            {
                return Err(Error::invalid(
                    "shipping_cost.currency",
                    format!("the order was paid in {}", c.currency),
                ));
            }
            Ok(Command::SubmitShipment {
                carrier: r.carrier_code.to_ascii_lowercase(),
                tracking: r.tracking_number.clone(),
                cost_minor: cost.as_ref().map(|m| m.amount_minor),
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "SubmitReturnShipment", &r.request_id, ""),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn inspect_return(
        &self,
        req: Request<InspectReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        let passed = match InspectionResult::try_from(r.result) {
            Ok(InspectionResult::Passed) => true,
            Ok(InspectionResult::Failed) => false,
            _ => {
                v.add("result", "PASSED or FAILED");
                false
            }
        };
        validate::text(&mut v, "note", &r.note, 2000);
        validate::evidence(&mut v, "evidence", &r.evidence);
        v.finish()?;
        let cmd = |_: &Case| {
            Ok(Command::Inspect {
                passed,
                note: r.note.clone(),
                evidence: convert::evidence_in(&r.evidence),
                auto: false,
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "InspectReturn", &r.request_id, &r.note),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn ship_replacement(
        &self,
        req: Request<ShipReplacementRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        parcel(&mut v, &r.carrier_code, &r.tracking_number);
        v.finish()?;
        let cmd = |_: &Case| {
            Ok(Command::ShipReplacement {
                carrier: r.carrier_code.to_ascii_lowercase(),
                tracking: r.tracking_number.clone(),
            })
        };
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "ShipReplacement", &r.request_id, ""),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn confirm_replacement(
        &self,
        req: Request<ConfirmReplacementRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let cmd = |_: &Case| Ok(Command::Confirm { auto: false });
        let answer = self
            .act(
                &who,
                Step::new(&r.name, "ConfirmReplacement", &r.request_id, ""),
                &r,
                cmd,
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn list_return_audit(
        &self,
        req: Request<ListReturnAuditRequest>,
    ) -> Result<Response<ListReturnAuditResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let id = kit::names::parse("parent", "returns", &r.parent)?;
        store::get(&self.pool, id)
            .await
            .map_err(Error::from)?
            .filter(|c| who.can_see_case(&c.buyer_id, &c.merchant_id))
            .ok_or_else(|| not_found(&r.parent))?;
        let mut v = Violations::new();
        let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
            t.parse::<i64>().ok()
        });
        v.finish()?;
        let mut rows = store::audit_page(&self.pool, id, page.after.unwrap_or(0), page.fetch())
            .await
            .map_err(Error::from)?;
        let next_page_token = page.finish(&mut rows, |a| a.id.to_string());
        Ok(Response::new(ListReturnAuditResponse {
            entries: rows.iter().map(convert::audit).collect(),
            next_page_token,
        }))
    }
}

/// The page token after `c`: its id, or its due time and id for the work queue.
fn token(c: &Case, due: Option<DateTime<Utc>>, by_due: bool) -> String {
    if by_due {
        page::time_id_token(due, c.id)
    } else {
        c.id.to_string()
    }
}
