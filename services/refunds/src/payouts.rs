//! The payout worker: submits requested refunds to the PaymentGateway and follows them
//! to settlement. Exactly-once payment rests on two things: every submission of a
//! refund carries the same payout id (the gateway deduplicates on it), and a refund is
//! claimed with a lease rather than a lock held across the call, so a worker that dies
//! between the gateway's answer and the commit leaves the refund to be claimed again and
//! resubmitted under the same id — the gateway answers with the payout it already has.

use std::{sync::Arc, time::Duration};

use aftersales_proto::aftersales::common::v1::Money;
use aftersales_proto::aftersales::platform::v1::{
    GetPayoutRequest, Payout, PayoutState, SubmitPayoutRequest,
    payment_gateway_client::PaymentGatewayClient,
};
use kit::client::Peers;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use crate::{
    domain::{
        payout::{Decision, Effect, GATEWAY_ACTOR, Outcome, decide, error_code},
        refund::{State, payout_id},
    },
    effects,
    settings::Settings,
    store::{self, Audit, RefundRow, Update},
};

const BATCH: i64 = 32;

/// One per replica; replicas share the due refunds through `FOR UPDATE SKIP LOCKED`.
pub struct Worker {
    pool: PgPool,
    peers: Peers,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker on `pool`, woken early by `wake`.
    pub fn new(pool: PgPool, peers: Peers, settings: Arc<Settings>, wake: Arc<Notify>) -> Self {
        Self {
            pool,
            peers,
            settings,
            wake,
        }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let worked = match self.round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "payout round failed");
                    0
                }
            };
            if worked > 0 {
                continue;
            }
            let sleep = match store::next_due(&self.pool).await {
                Ok(Some(at)) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.settings.idle),
                _ => self.settings.idle,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Claims the due refunds and attempts each; returns how many.
    async fn round(&self) -> anyhow::Result<usize> {
        let due = store::claim_due(&self.pool, self.settings.lease, BATCH).await?;
        let n = due.len();
        let mut calls = tokio::task::JoinSet::new();
        for r in due {
            let this = (self.pool.clone(), self.peers.clone(), self.settings.clone());
            calls.spawn(async move {
                let name = r.name();
                if let Err(e) = attempt(&this.0, &this.1, &this.2, r).await {
                    tracing::warn!(refund = %name, error = %e, "payout attempt not recorded");
                }
            });
        }
        while calls.join_next().await.is_some() {}
        Ok(n)
    }
}

/// Calls the gateway for `r` (submit, or look up a payout it already accepted) and
/// records what it said.
#[tracing::instrument(skip_all, fields(refund = %r.name(), payout = %payout_id(&r.id, r.payout_seq)))]
async fn attempt(
    pool: &PgPool,
    peers: &Peers,
    settings: &Settings,
    r: RefundRow,
) -> anyhow::Result<()> {
    let outcome = call(peers, &r).await;
    #[cfg(feature = "failpoints")]
    crate::failpoint::after_submit(settings, &outcome);
    record(pool, settings, &r, outcome).await
}

/// The audit action of a move the gateway's answer caused.
fn action(to: State) -> &'static str {
    match to {
        State::Requested => "retry_payout",
        State::Submitted => "submit",
        State::Settled => "settle",
        State::Failed => "fail",
        State::Escalated => "escalate",
    }
}

fn classify(p: Payout) -> Outcome {
    match PayoutState::try_from(p.state).unwrap_or(PayoutState::Unspecified) {
        PayoutState::Succeeded => Outcome::Succeeded,
        PayoutState::Failed => {
            Outcome::Declined(format!("{}: {}", p.failure_code, p.failure_message))
        }
        PayoutState::Processing => Outcome::Processing,
        PayoutState::Unspecified => Outcome::Transient("gateway answered no payout state".into()),
    }
}

/// What a gateway error means. Only a submission the gateway refused as malformed is
/// known to have paid nothing, so only that may fail the refund (after which a retry uses
/// a new payout id). Once the gateway accepted the payout (`accepted`), or when the
/// refusal is about our credentials, every error is transient: the payout may exist and
/// must be followed under its own id, never replaced.
fn refusal(s: &tonic::Status, accepted: bool) -> Outcome {
    let what = format!("{:?}: {}", s.code(), s.message());
    match s.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange if !accepted => {
            Outcome::Rejected(what)
        }
        _ => Outcome::Transient(what),
    }
}

async fn call(peers: &Peers, r: &RefundRow) -> Outcome {
    let channel = match peers.get("platform") {
        Ok(c) => c,
        Err(e) => return Outcome::Transient(e.to_string()),
    };
    let mut gateway = PaymentGatewayClient::new(channel);
    let id = payout_id(&r.id, r.payout_seq);
    let answer = if r.submit_time.is_some() {
        // Accepted before: follow it rather than submit again.
        gateway
            .get_payout(GetPayoutRequest {
                name: format!("payouts/{id}"),
            })
            .await
    } else {
        gateway
            .submit_payout(SubmitPayoutRequest {
                payout_id: id,
                refund: r.name(),
                amount: Some(Money {
                    amount_minor: r.amount_minor,
                    currency: r.currency.clone(),
                }),
                original_payment_ref: r.payment_ref.clone(),
            })
            .await
    };
    match answer {
        Ok(p) => classify(p.into_inner()),
        Err(s) => refusal(&s, r.submit_time.is_some()),
    }
}

/// Writes the decision for `outcome` if the refund is still in the series and state the
/// attempt was made in; a refund changed meanwhile (an agent retried it, another worker
/// recorded it first) is left as it is.
async fn record(
    pool: &PgPool,
    settings: &Settings,
    claimed: &RefundRow,
    outcome: Outcome,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let Some(now) = store::lock(&mut tx, claimed.id).await? else {
        return Ok(());
    };
    if now.payout_seq != claimed.payout_seq
        || now.state != claimed.state
        || now.update_time != claimed.update_time
    {
        tracing::info!(refund = %now.name(), "changed while its payout was in flight; not recorded");
        return Ok(());
    }
    let before = now.state();
    let Decision {
        state,
        next_in,
        failures,
        error,
        accepted,
        effect,
    } = decide(before, now.failures, outcome, &settings.retry);
    let row = store::update(
        &mut tx,
        now.id,
        &Update {
            state,
            next_in,
            failures,
            last_error: error.clone(),
            accepted,
            settled: effect == Some(Effect::Settled),
            payout_seq: now.payout_seq,
        },
    )
    .await?;
    if state != before {
        // The gateway's full text stays in the trail for staff; a merchant reads its code.
        let why = error.clone().unwrap_or_else(|| "payment gateway".into());
        let audit = Audit {
            actor: ("system", GATEWAY_ACTOR),
            from: Some(before),
            to: state,
            action: action(state),
            reason: &why,
            request_id: "",
        };
        store::audit(&mut tx, row.id, &audit).await?;
    }
    // Events carry the gateway's error code, never its text (their consumers show the
    // case to the merchant).
    let code = error_code(error.as_deref().unwrap_or_default());
    match effect {
        Some(Effect::Settled) => effects::settled(&mut tx, &row).await?,
        Some(Effect::Failed) => effects::failed(&mut tx, &row, code).await?,
        Some(Effect::Escalated) => {
            effects::escalated(&mut tx, &row, &format!("payout retries exhausted: {code}")).await?
        }
        None => {}
    }
    tx.commit().await?;
    if state != before {
        tracing::info!(from = before.as_str(), to = state.as_str(), "refund moved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accepted_payout_is_never_failed_by_an_error() {
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::Unavailable,
        ] {
            let s = tonic::Status::new(code, "x");
            assert!(
                matches!(refusal(&s, true), Outcome::Transient(_)),
                "{code:?}"
            );
        }
    }

    #[test]
    fn only_a_malformed_submission_fails_before_acceptance() {
        let bad = tonic::Status::invalid_argument("amount");
        assert!(matches!(refusal(&bad, false), Outcome::Rejected(_)));
        let auth = tonic::Status::unauthenticated("token expired");
        assert!(
            matches!(refusal(&auth, false), Outcome::Transient(_)),
            "our credentials, not the payout"
        );
    }
}
