//! CreateRefund: the order's facts fetched from the platform (never trusted from the
//! caller), the refund drawn on its line's cap and recorded with its audit row and its
//! effects (event, settlement clock, notification) in one idempotent transaction.

use aftersales_proto::aftersales::{
    platform::v1::{Order, OrderLine},
    refunds::v1::{CreateRefundRequest, Refund},
};
use kit::{
    Error,
    auth::Principal,
    idempotency::{self, Claim},
};
use uuid::Uuid;

use super::Api;
use crate::{
    domain::{clocks, refund::Kind},
    effects, errors,
    parse::{self, Create},
    render,
    store::{self, Audit, NewRefund, Paid, WriteError},
};

const METHOD: &str = "CreateRefund";

/// What the order directory says was paid on the refunded line (the whole order when no
/// line is named), and in which currency.
fn paid(order: &Order, line_id: &str) -> kit::Result<(Paid, Option<String>)> {
    let goods = |l: &OrderLine| l.paid_amount.as_ref().map_or(0, |m| m.amount_minor);
    let shipping = |l: &OrderLine| l.shipping_fee_paid.as_ref().map_or(0, |m| m.amount_minor);
    if line_id.is_empty() {
        let paid = Paid {
            goods: order.lines.iter().map(goods).sum(),
            shipping: order.lines.iter().map(shipping).sum(),
        };
        let currency = order
            .lines
            .first()
            .and_then(|l| l.paid_amount.as_ref())
            .map(|m| m.currency.clone());
        return Ok((paid, currency));
    }
    let line = order
        .lines
        .iter()
        .find(|l| l.id == line_id)
        .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
    let paid = Paid {
        goods: goods(line),
        shipping: shipping(line),
    };
    Ok((paid, line.paid_amount.as_ref().map(|m| m.currency.clone())))
}

impl Api {
    pub(super) async fn create(
        &self,
        who: &Principal,
        r: CreateRefundRequest,
    ) -> kit::Result<Refund> {
        let c = parse::create(&r)?;
        let order = kit::platform::order(&self.peers, &c.order_id).await?;
        let (paid, currency) = paid(&order, &r.order_line_id)?;
        if currency.as_deref() != Some(c.amount.currency.as_str()) {
            return Err(Error::invalid(
                "amount.currency",
                format!("the order was paid in {}", currency.unwrap_or_default()),
            ));
        }
        // Return shipping draws on no running total (it is not the order's shipping
        // fee), but it is never worth more than the goods sent back: a ceiling against a
        // requester's mistake charging the merchant any sum (once per case besides).
        if c.kind == Kind::ReturnShipping && c.amount.minor > paid.goods {
            return Err(errors::cap_exceeded(
                "return shipping",
                &c.order_id,
                &r.order_line_id,
                Some(paid.goods),
            ));
        }
        let new = self.new_refund(&r, c, &order, paid);

        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &who.caller_key(), METHOD, &r.request_id, &r).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let row = match store::insert(&mut tx, &new).await {
            Ok(row) => row,
            Err(e) => {
                drop(tx);
                return Err(self.refusal(e, &new).await);
            }
        };
        let audit = Audit {
            actor: (who.role.as_str(), &who.id),
            from: None,
            to: row.state(),
            action: "create",
            reason: &row.reason,
            request_id: &r.request_id,
        };
        store::audit(&mut tx, row.id, &audit).await?;
        effects::requested(&mut tx, &row, &r.request_id, &self.settings).await?;
        let answer = render::refund(&row);
        idempotency::complete(&mut tx, &who.caller_key(), METHOD, &r.request_id, &answer).await?;
        tx.commit().await?;
        tracing::info!(refund = %row.name(), kind = row.kind().as_str(), amount = row.amount_minor, "refund recorded");
        self.wake.notify_one();
        Ok(answer)
    }

    /// The refund to insert, due to settle by its kind's clock.
    fn new_refund(
        &self,
        r: &CreateRefundRequest,
        c: Create,
        order: &Order,
        paid: Paid,
    ) -> NewRefund {
        let now = chrono::Utc::now();
        let clock = clocks::settlement(
            c.kind,
            &self.settings.settlement,
            &self.settings.insurance_settlement,
        );
        NewRefund {
            id: Uuid::now_v7(),
            kind: c.kind,
            source_case: r.source_case.clone(),
            order_id: c.order_id,
            order_line_id: r.order_line_id.clone(),
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            amount_minor: c.amount.minor,
            currency: c.amount.currency.to_string(),
            reason: r.reason.clone(),
            funded_by: c.funded_by,
            payment_ref: order.payment_ref.clone(),
            paid,
            settle_due: clocks::due(clock, now),
            create_time: now,
        }
    }

    /// A refused insert as the caller's error; a cap refusal says what remains on the line.
    async fn refusal(&self, e: WriteError, new: &NewRefund) -> Error {
        match e {
            WriteError::CapExceeded(which) => {
                let left = store::remaining(&self.pool, &new.order_id, &new.order_line_id)
                    .await
                    .ok()
                    .flatten();
                let remaining = left.map(|(g, s, c)| match which {
                    "goods" => g,
                    "shipping fee" => s,
                    _ => c,
                });
                errors::cap_exceeded(which, &new.order_id, &new.order_line_id, remaining)
            }
            WriteError::OncePerCase => errors::once_per_case(&new.source_case, new.kind),
            other => other.into(),
        }
    }
}
