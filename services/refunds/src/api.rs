//! gRPC surface of `refunds`: authorise, parse the request (collecting every bad field),
//! fetch the order's facts, then one transaction per change with its audit and outbox rows.

use std::sync::Arc;

use aftersales_proto::aftersales::{
    common::v1::Money as ProtoMoney,
    platform::v1::Order,
    refunds::v1::{
        ComputeLatePenaltyRequest, ComputeLatePenaltyResponse, CreateRefundRequest,
        GetRefundRequest, ListRefundsRequest, ListRefundsResponse, RecordPlatformAdvanceRequest,
        RecordRecoveryRequest, Refund, RefundState, RefundTotal, RetryRefundRequest,
        refunds_service_server::{RefundsService, RefundsServiceServer},
    },
    sla::v1::timer_callback_server::TimerCallbackServer,
};
use kit::{
    App, Ctx, Error,
    auth::{Policy, Principal, Role, principal},
    client::Peers,
    error::Violations,
    idempotency::{self, Claim},
    time::from_ts,
};
use rules::{
    Money,
    penalty::{self, PenaltyError, RATE_BP_PER_DAY},
};
use sqlx::PgPool;
use tokio::sync::Notify;
use tonic::{Request, Response, Status, service::Routes};
use uuid::Uuid;

use crate::{
    convert,
    domain::refund::{self, Funding, Kind, RecoverFrom, Retry},
    effects,
    payouts::Worker,
    settings::Settings,
    store::{self, Filter, NewRefund, Paid, WriteError},
    timers::Timers,
};

const SERVICE: &str = "aftersales.refunds.v1.RefundsService";
const CALLBACK: &str = "aftersales.sla.v1.TimerCallback";

/// Builds the service: the API, the timer callback and the payout worker.
pub fn app(ctx: Ctx) -> anyhow::Result<App> {
    let settings = Arc::new(Settings::from_env(ctx.cfg.env())?);
    let pool = ctx.pool();
    let wake = Arc::new(Notify::new());
    let api = Api {
        pool: pool.clone(),
        peers: ctx.peers.clone(),
        settings: settings.clone(),
        wake: wake.clone(),
    };
    let worker = Worker::new(pool.clone(), ctx.peers.clone(), settings.clone(), wake);
    let timers = Timers { pool };

    use Role::*;
    let staff = [Agent, Arbitrator, Service];
    let policy = Policy::new()
        .allow(SERVICE, "CreateRefund", &staff)
        .allow(
            SERVICE,
            "GetRefund",
            &[Buyer, Merchant, Agent, Arbitrator, Service],
        )
        .allow(
            SERVICE,
            "ListRefunds",
            &[Buyer, Merchant, Agent, Arbitrator, Service],
        )
        .allow(SERVICE, "RetryRefund", &[Agent])
        .allow(
            SERVICE,
            "ComputeLatePenalty",
            &[Buyer, Merchant, Agent, Arbitrator, Service],
        )
        .allow(SERVICE, "RecordPlatformAdvance", &staff)
        .allow(SERVICE, "RecordRecovery", &[Agent, Service])
        .allow(CALLBACK, "OnTimerEvent", &[Service]);
    let mut routes = Routes::new(RefundsServiceServer::new(api));
    routes = routes.add_service(TimerCallbackServer::new(timers));
    Ok(App {
        routes,
        policy,
        tasks: vec![Box::pin(worker.run(ctx.shutdown.clone()))],
    })
}

struct Api {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
    /// Wakes the payout worker when a refund becomes due now.
    wake: Arc<Notify>,
}

/// `refunds/{uuid}` -> the id.
pub fn refund_id(name: &str) -> Result<Uuid, Error> {
    name.strip_prefix("refunds/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| Error::invalid("name", "must look like refunds/{uuid}"))
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "refund",
        name: name.to_string(),
    }
}

fn money(v: &mut Violations, field: &str, m: Option<&ProtoMoney>) -> Option<Money> {
    match m {
        None => {
            v.add(field, "is required");
            None
        }
        Some(m) => match Money::positive(m.amount_minor, &m.currency) {
            Ok(m) => Some(m),
            Err(e) => {
                v.add(field, e);
                None
            }
        },
    }
}

fn required(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        v.add(field, "is required");
    } else if value.len() > max {
        v.add(field, format!("at most {max} bytes"));
    }
}

fn request_id(v: &mut Violations, raw: &str) {
    v.check("request_id", idempotency::parse_request_id(raw));
}

/// A parsed CreateRefundRequest.
struct Create {
    kind: Kind,
    funded_by: Funding,
    order_id: String,
    amount: Money,
}

fn parse_create(r: &CreateRefundRequest) -> Result<Create, Error> {
    let mut v = Violations::new();
    let kind = Kind::from_i32(r.kind);
    if kind.is_none() {
        v.add(
            "kind",
            "must be one of GOODS, SHIPPING_FEE, LATE_PENALTY, SHIPPING_INSURANCE, GOODWILL",
        );
    }
    match r.source_case.split_once('/') {
        Some((svc, id)) if !svc.is_empty() && !id.is_empty() && r.source_case.len() <= 200 => {}
        _ => v.add(
            "source_case",
            "must name the causing case, e.g. returns/123",
        ),
    }
    let order_id = r
        .order_id
        .strip_prefix("orders/")
        .unwrap_or(&r.order_id)
        .to_string();
    required(&mut v, "order_id", &order_id, 100);
    if kind.is_some_and(Kind::needs_line) && r.order_line_id.is_empty() {
        v.add(
            "order_line_id",
            "is required for GOODS and SHIPPING_FEE refunds",
        );
    }
    if r.order_line_id.len() > 100 {
        v.add("order_line_id", "at most 100 bytes");
    }
    let amount = money(&mut v, "amount", r.amount.as_ref());
    required(&mut v, "reason", &r.reason, 500);
    let funded_by = match r.funded_by {
        0 => kind.map(Kind::default_funding),
        f => {
            let f = Funding::from_i32(f);
            if f.is_none() {
                v.add("funded_by", "unknown funding party");
            }
            f
        }
    };
    request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok(Create {
        kind: kind.expect("validated"),
        funded_by: funded_by.expect("validated"),
        order_id,
        amount: amount.expect("validated"),
    })
}

impl Api {
    async fn order(&self, order_id: &str) -> Result<Order, Error> {
        kit::platform::order(&self.peers, order_id).await
    }

    /// The caller's refund, locked; NOT_FOUND when it does not exist.
    async fn locked(tx: &mut sqlx::PgConnection, name: &str) -> Result<store::RefundRow, Error> {
        let id = refund_id(name)?;
        store::lock(tx, id).await?.ok_or_else(|| not_found(name))
    }

    /// A staff change to one refund: idempotent by `request_id`, made on the locked refund
    /// by `change` (which answers the new row and the audit note), audited, in one
    /// transaction.
    async fn ledger_change<M: prost::Message>(
        &self,
        who: &Principal,
        method: &str,
        (name, request_id): (&str, &str),
        request: &M,
        change: impl AsyncFnOnce(
            &mut sqlx::PgConnection,
            &store::RefundRow,
        ) -> Result<(store::RefundRow, String), Error>,
    ) -> Result<Refund, Error> {
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &who.caller_key(), method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = Self::locked(&mut tx, name).await?;
        let (row, note) = change(&mut tx, &before).await?;
        store::audit(
            &mut tx,
            row.id,
            (who.role.as_str(), &who.id),
            Some(before.state()),
            row.state(),
            &note,
        )
        .await?;
        let answer = convert::refund(&row);
        idempotency::complete(&mut tx, &who.caller_key(), method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Explains a cap refusal with what remains on the line.
    async fn cap_refusal(&self, which: &'static str, order: &str, line: &str) -> Error {
        let left = store::remaining(&self.pool, order, line)
            .await
            .ok()
            .flatten();
        let remaining = left.map(|(g, s, c)| match which {
            "goods" => g,
            "shipping fee" => s,
            _ => c,
        });
        Error::FailedPrecondition {
            reason: "REFUND_EXCEEDS_PAID",
            kind: "LEDGER",
            subject: format!("orders/{order}/lines/{line}"),
            description: format!(
                "the {which} refunded on this line would exceed what was paid; {} minor units remain",
                remaining.unwrap_or(0)
            ),
        }
    }
}

#[tonic::async_trait]
impl RefundsService for Api {
    #[tracing::instrument(skip_all, fields(source_case = %req.get_ref().source_case))]
    async fn create_refund(
        &self,
        req: Request<CreateRefundRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let c = parse_create(&r)?;
        let order = self.order(&c.order_id).await?;
        let (paid, currency) = if r.order_line_id.is_empty() {
            let sum = |f: fn(&aftersales_proto::aftersales::platform::v1::OrderLine) -> i64| {
                order.lines.iter().map(f).sum::<i64>()
            };
            (
                Paid {
                    goods: sum(|l| l.paid_amount.as_ref().map_or(0, |m| m.amount_minor)),
                    shipping: sum(|l| l.shipping_fee_paid.as_ref().map_or(0, |m| m.amount_minor)),
                },
                order
                    .lines
                    .first()
                    .and_then(|l| l.paid_amount.as_ref())
                    .map(|m| m.currency.clone()),
            )
        } else {
            let line = order
                .lines
                .iter()
                .find(|l| l.id == r.order_line_id)
                .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
            (
                Paid {
                    goods: line.paid_amount.as_ref().map_or(0, |m| m.amount_minor),
                    shipping: line
                        .shipping_fee_paid
                        .as_ref()
                        .map_or(0, |m| m.amount_minor),
                },
                line.paid_amount.as_ref().map(|m| m.currency.clone()),
            )
        };
        if currency.as_deref() != Some(c.amount.currency.as_str()) {
            return Err(Error::invalid(
                "amount.currency",
                format!("the order was paid in {}", currency.unwrap_or_default()),
            )
            .into());
        }

        let now = chrono::Utc::now();
        let clock = if c.kind == Kind::ShippingInsurance {
            &self.settings.insurance_settlement
        } else {
            &self.settings.settlement
        };
        let new = NewRefund {
            id: Uuid::now_v7(),
            kind: c.kind,
            source_case: r.source_case.clone(),
            order_id: c.order_id.clone(),
            order_line_id: r.order_line_id.clone(),
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            amount_minor: c.amount.minor,
            currency: c.amount.currency.to_string(),
            reason: r.reason.clone(),
            funded_by: c.funded_by,
            payment_ref: order.payment_ref.clone(),
            paid,
            settle_due: clock.due(now),
            create_time: now,
        };

        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        if let Claim::Replay(bytes) = idempotency::claim(
            &mut tx,
            &who.caller_key(),
            "CreateRefund",
            &r.request_id,
            &r,
        )
        .await?
        {
            return Ok(Response::new(idempotency::decode_replay(&bytes)?));
        }
        let row = match store::insert(&mut tx, &new).await {
            Ok(row) => row,
            Err(e) => {
                drop(tx);
                return Err(match e {
                    WriteError::CapExceeded(which) => {
                        self.cap_refusal(which, &new.order_id, &new.order_line_id)
                            .await
                    }
                    WriteError::CurrencyMismatch(cur) => {
                        Error::invalid("amount.currency", format!("the line was paid in {cur}"))
                    }
                    WriteError::OncePerCase => Error::AlreadyExists(format!(
                        "{} already has a {} refund",
                        new.source_case,
                        new.kind.as_str()
                    )),
                    other => Error::Internal(other.into()),
                }
                .into());
            }
        };
        store::audit(
            &mut tx,
            row.id,
            (who.role.as_str(), &who.id),
            None,
            row.state(),
            &row.reason,
        )
        .await
        .map_err(Error::from)?;
        effects::requested(&mut tx, &row, &self.settings)
            .await
            .map_err(Error::from)?;
        let answer = convert::refund(&row);
        idempotency::complete(
            &mut tx,
            &who.caller_key(),
            "CreateRefund",
            &r.request_id,
            &answer,
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        tracing::info!(refund = %row.name(), kind = row.kind().as_str(), amount = row.amount_minor, "refund recorded");
        self.wake.notify_one();
        Ok(Response::new(answer))
    }

    async fn get_refund(&self, req: Request<GetRefundRequest>) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        let name = req.into_inner().name;
        let id = refund_id(&name)?;
        let row = store::get(&self.pool, id)
            .await
            .map_err(Error::from)?
            .filter(|r| who.can_see_case(&r.buyer_id, &r.merchant_id))
            .ok_or_else(|| not_found(&name))?;
        Ok(Response::new(convert::refund(&row)))
    }

    async fn list_refunds(
        &self,
        req: Request<ListRefundsRequest>,
    ) -> Result<Response<ListRefundsResponse>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        if !(0..=100).contains(&r.page_size) {
            v.add("page_size", "must be between 0 (default 20) and 100");
        }
        let after = if r.page_token.is_empty() {
            None
        } else {
            v.check(
                "page_token",
                Uuid::parse_str(&r.page_token).map_err(|_| "is not a token from this list"),
            )
        };
        let time = |v: &mut Violations, f: &str, t: &Option<prost_types::Timestamp>| {
            t.as_ref().and_then(|t| {
                let parsed = from_ts(t);
                if parsed.is_none() {
                    v.add(f, "out of range");
                }
                parsed
            })
        };
        let start = time(&mut v, "start_time", &r.start_time);
        let end = time(&mut v, "end_time", &r.end_time);
        if r.kinds.iter().any(|k| Kind::from_i32(*k).is_none()) {
            v.add("kinds", "unknown kind");
        }
        if r.states
            .iter()
            .any(|s| *s <= 0 || RefundState::try_from(*s).is_err())
        {
            v.add("states", "unknown state");
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut f = Filter {
            order_id: opt(r.order_id.strip_prefix("orders/").unwrap_or(&r.order_id)),
            source_case: opt(&r.source_case),
            merchant_id: opt(&r.merchant_id),
            buyer_id: None,
            start,
            end,
            kinds: r.kinds.iter().map(|k| *k as i16).collect(),
            states: r.states.iter().map(|s| *s as i16).collect(),
        };
        // A buyer sees only his own refunds and a merchant only its shop's, whatever the
        // filter asks (SPEC §9); staff must narrow the list to something.
        match who.role {
            Role::Buyer => f.buyer_id = Some(who.id.clone()),
            Role::Merchant => {
                if f.merchant_id.as_ref().is_some_and(|m| *m != who.id) {
                    v.add("merchant_id", "a merchant lists only its own refunds");
                }
                f.merchant_id = Some(who.id.clone());
            }
            _ => {
                if f.order_id.is_none() && f.source_case.is_none() && f.merchant_id.is_none() {
                    v.add(
                        "order_id",
                        "one of order_id, source_case or merchant_id is required",
                    );
                }
            }
        }
        v.finish()?;
        let limit = if r.page_size == 0 {
            20
        } else {
            r.page_size as i64
        };
        let mut rows = store::list(&self.pool, &f, after, limit + 1)
            .await
            .map_err(Error::from)?;
        let next_page_token = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let totals = store::totals(&self.pool, &f)
            .await
            .map_err(Error::from)?
            .into_iter()
            .map(|(kind, currency, count, requested, settled)| RefundTotal {
                kind: kind as i32,
                count: count as u32,
                requested: Some(ProtoMoney {
                    amount_minor: requested,
                    currency: currency.clone(),
                }),
                settled: Some(ProtoMoney {
                    amount_minor: settled,
                    currency,
                }),
            })
            .collect();
        Ok(Response::new(ListRefundsResponse {
            refunds: rows.iter().map(convert::refund).collect(),
            next_page_token,
            totals,
        }))
    }

    async fn retry_refund(
        &self,
        req: Request<RetryRefundRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        v.check(
            "name",
            refund_id(&r.name).map_err(|_| "must look like refunds/{uuid}"),
        );
        request_id(&mut v, &r.request_id);
        v.finish()?;
        let answer = self
            .ledger_change(
                &who,
                "RetryRefund",
                (&r.name, &r.request_id),
                &r,
                async |tx, before| {
                    let how = refund::retry(before.state()).ok_or_else(|| {
                        Error::illegal_state(&r.name, before.state().as_str(), "retry")
                    })?;
                    let row = match how {
                        Retry::SamePayout => {
                            store::restart(tx, before.id, before.payout_seq, false).await
                        }
                        Retry::NextPayout => {
                            store::restart(tx, before.id, before.payout_seq + 1, true).await
                        }
                    }?;
                    Ok((row, "retried by an agent".to_string()))
                },
            )
            .await?;
        self.wake.notify_one();
        Ok(Response::new(answer))
    }

    async fn compute_late_penalty(
        &self,
        req: Request<ComputeLatePenaltyRequest>,
    ) -> Result<Response<ComputeLatePenaltyResponse>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        let currency = match &r.line_amount {
            None => {
                v.add("line_amount", "is required");
                String::new()
            }
            Some(m) => {
                if m.amount_minor < 0 {
                    v.add("line_amount.amount_minor", "must not be negative");
                }
                if rules::Currency::parse(&m.currency).is_none() {
                    v.add("line_amount.currency", "must be an ISO-4217 code");
                }
                m.currency.clone()
            }
        };
        v.finish()?;
        let line = r.line_amount.as_ref().map_or(0, |m| m.amount_minor);
        let p = penalty::late_penalty(line, r.late_days, r.buyer_caused).map_err(|e| match e {
            PenaltyError::NegativeAmount => Error::invalid("line_amount", "must not be negative"),
            PenaltyError::Overflow => {
                Error::invalid("late_days", "the penalty does not fit in 64 bits")
            }
        })?;
        Ok(Response::new(ComputeLatePenaltyResponse {
            penalty: Some(ProtoMoney {
                amount_minor: p.minor,
                currency,
            }),
            chargeable_days: p.chargeable_days,
            rate_bp_per_day: RATE_BP_PER_DAY,
        }))
    }

    async fn record_platform_advance(
        &self,
        req: Request<RecordPlatformAdvanceRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        v.check(
            "name",
            refund_id(&r.name).map_err(|_| "must look like refunds/{uuid}"),
        );
        let from = RecoverFrom::from_i32(r.recover_from);
        if from.is_none() {
            v.add("recover_from", "must be MERCHANT_DEPOSIT or CARRIER");
        }
        if from == Some(RecoverFrom::Carrier) && r.debtor_id.is_empty() {
            v.add("debtor_id", "the carrier code is required");
        }
        required(&mut v, "reason", &r.reason, 500);
        request_id(&mut v, &r.request_id);
        v.finish()?;
        let from = from.expect("validated");

        let answer = self
            .ledger_change(
                &who,
                "RecordPlatformAdvance",
                (&r.name, &r.request_id),
                &r,
                async |tx, before| {
                    let debtor = match from {
                        RecoverFrom::MerchantDeposit if r.debtor_id.is_empty() => {
                            before.merchant_id.clone()
                        }
                        RecoverFrom::MerchantDeposit if r.debtor_id != before.merchant_id => {
                            return Err(Error::invalid(
                                "debtor_id",
                                "a merchant deposit advance is owed by the refund's own merchant",
                            ));
                        }
                        _ => r.debtor_id.clone(),
                    };
                    if before.advance_time.is_some() {
                        return Err(Error::FailedPrecondition {
                            reason: "ALREADY_ADVANCED",
                            kind: "LEDGER",
                            subject: r.name.clone(),
                            description: "the platform already advanced this refund".into(),
                        });
                    }
                    let funding =
                        Funding::from_i32(before.funded_by as i32).unwrap_or(Funding::Platform);
                    if !refund::advance_allowed(funding) {
                        return Err(Error::FailedPrecondition {
                            reason: "NOT_RECOVERABLE",
                            kind: "LEDGER",
                            subject: r.name.clone(),
                            description:
                                "only a refund the merchant or the carrier owes can be advanced"
                                    .into(),
                        });
                    }
                    let row = store::set_advance(tx, before.id, from, &debtor, &r.reason).await?;
                    effects::advanced(tx, &row).await?;
                    let note = format!("platform advance, owed by {debtor}: {}", r.reason);
                    Ok((row, note))
                },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn record_recovery(
        &self,
        req: Request<RecordRecoveryRequest>,
    ) -> Result<Response<Refund>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        v.check(
            "name",
            refund_id(&r.name).map_err(|_| "must look like refunds/{uuid}"),
        );
        let amount = money(&mut v, "amount", r.amount.as_ref());
        required(&mut v, "reference", &r.reference, 200);
        request_id(&mut v, &r.request_id);
        v.finish()?;
        let amount = amount.expect("validated");

        let answer = self
            .ledger_change(
                &who,
                "RecordRecovery",
                (&r.name, &r.request_id),
                &r,
                async |tx, before| {
                    if before.advance_time.is_none() {
                        return Err(Error::FailedPrecondition {
                            reason: "NO_ADVANCE",
                            kind: "LEDGER",
                            subject: r.name.clone(),
                            description: "the platform has not advanced this refund".into(),
                        });
                    }
                    if amount.currency.as_str() != before.currency {
                        return Err(Error::invalid(
                            "amount.currency",
                            format!("the refund is in {}", before.currency),
                        ));
                    }
                    let row = match store::add_recovery(tx, before.id, amount.minor, &r.reference)
                        .await
                    {
                        Ok(row) => row,
                        Err(WriteError::RecoveryExceedsAdvance) => {
                            return Err(Error::FailedPrecondition {
                                reason: "RECOVERY_EXCEEDS_ADVANCE",
                                kind: "LEDGER",
                                subject: r.name.clone(),
                                description: format!(
                                    "only {} minor units remain to recover",
                                    before.amount_minor - before.recovered_minor
                                ),
                            });
                        }
                        Err(e) => return Err(Error::Internal(e.into())),
                    };
                    let note = format!("recovered {} ({})", amount.minor, r.reference);
                    Ok((row, note))
                },
            )
            .await?;
        Ok(Response::new(answer))
    }
}
