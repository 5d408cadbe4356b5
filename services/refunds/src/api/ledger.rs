//! The staff changes of one refund: an agent's retry of a stuck payout, the platform
//! paying first (an advance owed by the merchant or the carrier) and what is recovered
//! of it. Each is made on the locked refund, audited and idempotent by `request_id`, in
//! one transaction ([`Api::ledger_change`]).

use aftersales_proto::aftersales::refunds::v1::{
    RecordPlatformAdvanceRequest, RecordRecoveryRequest, Refund, RetryRefundRequest,
};
use kit::{
    Error,
    auth::Principal,
    idempotency::{self, Claim},
};
use rules::Money;
use sqlx::PgConnection;

use super::Api;
use crate::{
    domain::refund::{self, Funding, RecoverFrom, Retry},
    effects, errors, names, parse, render,
    store::{self, Audit, RefundRow, WriteError},
};

/// The caller's refund, locked; NOT_FOUND when it does not exist.
async fn locked(tx: &mut PgConnection, name: &str) -> kit::Result<RefundRow> {
    let id = names::refund_id("name", name)?;
    store::lock(tx, id)
        .await?
        .ok_or_else(|| errors::not_found(name))
}

impl Api {
    /// A staff change to one refund: idempotent by `request_id`, made on the locked refund
    /// by `change` (which answers the new row and the audit note), audited as `action`, in
    /// one transaction.
    async fn ledger_change<M: prost::Message>(
        &self,
        who: &Principal,
        (method, action): (&str, &str),
        (name, request_id): (&str, &str),
        request: &M,
        change: impl AsyncFnOnce(&mut PgConnection, &RefundRow) -> kit::Result<(RefundRow, String)>,
    ) -> kit::Result<Refund> {
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &who.caller_key(), method, request_id, request).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let before = locked(&mut tx, name).await?;
        let (row, note) = change(&mut tx, &before).await?;
        let audit = Audit {
            actor: (who.role.as_str(), &who.id),
            from: Some(before.state()),
            to: row.state(),
            action,
            reason: &note,
            request_id,
        };
        store::audit(&mut tx, row.id, &audit).await?;
        let answer = render::refund(&row);
        idempotency::complete(&mut tx, &who.caller_key(), method, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// RetryRefund: an escalated payout again under its id, a declined one under the next.
    pub(super) async fn retry(
        &self,
        who: &Principal,
        r: RetryRefundRequest,
    ) -> kit::Result<Refund> {
        parse::retry(&r)?;
        let answer = self
            .ledger_change(
                who,
                ("RetryRefund", "retry"),
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
        Ok(answer)
    }

    /// RecordPlatformAdvance: the platform pays a refund someone else owes, once.
    pub(super) async fn advance(
        &self,
        who: &Principal,
        r: RecordPlatformAdvanceRequest,
    ) -> kit::Result<Refund> {
        let from = parse::advance(&r)?;
        self.ledger_change(
            who,
            ("RecordPlatformAdvance", "record_platform_advance"),
            (&r.name, &r.request_id),
            &r,
            async |tx, before| advance(tx, before, &r, from).await,
        )
        .await
    }

    /// RecordRecovery: money recovered of an advance, never more than advanced.
    pub(super) async fn recovery(
        &self,
        who: &Principal,
        r: RecordRecoveryRequest,
    ) -> kit::Result<Refund> {
        let amount = parse::recovery(&r)?;
        self.ledger_change(
            who,
            ("RecordRecovery", "record_recovery"),
            (&r.name, &r.request_id),
            &r,
            async |tx, before| recovery(tx, before, &r, &amount).await,
        )
        .await
    }
}

async fn advance(
    tx: &mut PgConnection,
    before: &RefundRow,
    r: &RecordPlatformAdvanceRequest,
    from: RecoverFrom,
) -> kit::Result<(RefundRow, String)> {
    let debtor = match from {
        RecoverFrom::MerchantDeposit if r.debtor_id.is_empty() => before.merchant_id.clone(),
        RecoverFrom::MerchantDeposit if r.debtor_id != before.merchant_id => {
            return Err(Error::invalid(
                "debtor_id",
                "a merchant deposit advance is owed by the refund's own merchant",
            ));
        }
        _ => r.debtor_id.clone(),
    };
    if before.advance_time.is_some() {
        return Err(errors::already_advanced(&r.name));
    }
    let funding = Funding::from_i32(before.funded_by as i32).unwrap_or(Funding::Platform);
    if !refund::advance_allowed(funding) {
        return Err(errors::not_recoverable(&r.name));
    }
    let row = store::set_advance(tx, before.id, from, &debtor, &r.reason).await?;
    effects::advanced(tx, &row).await?;
    let note = format!("platform advance, owed by {debtor}: {}", r.reason);
    Ok((row, note))
}

async fn recovery(
    tx: &mut PgConnection,
    before: &RefundRow,
    r: &RecordRecoveryRequest,
    amount: &Money,
) -> kit::Result<(RefundRow, String)> {
    if before.advance_time.is_none() {
        return Err(errors::no_advance(&r.name));
    }
    if amount.currency.as_str() != before.currency {
        return Err(Error::invalid(
            "amount.currency",
            format!("the refund is in {}", before.currency),
        ));
    }
    let row = match store::add_recovery(tx, before.id, amount.minor, &r.reference).await {
        Ok(row) => row,
        Err(WriteError::RecoveryExceedsAdvance) => {
            return Err(errors::recovery_exceeds_advance(
                &r.name,
                before.amount_minor - before.recovered_minor,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let note = format!("recovered {} ({})", amount.minor, r.reference);
    Ok((row, note))
}
