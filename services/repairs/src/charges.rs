//! The charge of an accepted quote (a paid repair): asked of the payment gateway once
//! the buyer's acceptance is committed, never inside a transaction, and its answer
//! applied as the repair's next step. Exactly-once rests on the charge id: the same id
//! on every ask (the gateway charges an id once), a new one only after a decline. An
//! answer lost to an outage or a crash is recovered by the charge clock, whose expiry
//! asks again under the same id.

use std::time::Duration;

use aftersales_proto::aftersales::{
    common::v1::Money,
    platform::v1::{
        ChargeState, SubmitChargeRequest, payment_gateway_client::PaymentGatewayClient,
    },
};
use chrono::Utc;
use kit::client::Peers;
use sqlx::PgPool;
use tonic::Code;

use crate::{
    domain::{machine::Command, repair::Repair},
    names::name,
    settings::Settings,
    store,
    transition::{self, By, TransitionError},
};

/// Asks attempted before the charge clock takes over.
const ASKS: u32 = 3;

/// An answer that may change on a retry: the gateway or the way to it is down.
fn transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Unknown
            | Code::Cancelled
    )
}

/// Asks the gateway for the charge `r` waits for, if any, and applies its answer: the
/// repair as it is after, or None when nothing was asked or no answer came (the charge
/// clock asks again).
pub async fn settle(
    pool: &PgPool,
    peers: &Peers,
    settings: &Settings,
    r: &Repair,
) -> kit::Result<Option<Repair>> {
    let Some((charge_id, minor)) = r.pending_charge() else {
        return Ok(None);
    };
    let charge_id = charge_id.to_string();
    let req = SubmitChargeRequest {
        charge_id: charge_id.clone(),
        reference: name(r),
        amount: Some(Money {
            amount_minor: minor,
            currency: r.currency.clone(),
        }),
        payment_ref: r.payment_ref.clone(),
    };
    let mut gateway = PaymentGatewayClient::new(peers.get("platform")?);
    let mut wait = Duration::from_millis(100);
    let mut asked = 0;
    let cmd = loop {
        asked += 1;
        match gateway.submit_charge(req.clone()).await {
            Ok(answer) => {
                let c = answer.into_inner();
                break match ChargeState::try_from(c.state) {
                    Ok(ChargeState::Succeeded) => Command::Charged { charge_id },
                    Ok(ChargeState::Failed) => Command::ChargeFailed {
                        charge_id,
                        why: format!("{}: {}", c.failure_code, c.failure_message),
                    },
                    _ => {
                        tracing::warn!(charge_id, state = c.state, "a charge in no final state");
                        return Ok(None);
                    }
                };
            }
            Err(s) if transient(s.code()) && asked < ASKS => {
                tracing::info!(charge_id, error = %s, "charge not answered; asking again");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
            Err(s) if transient(s.code()) => {
                tracing::warn!(charge_id, error = %s, "charge not answered; the charge clock asks again");
                return Ok(None);
            }
            // a request the gateway will never take (no payment method on the order): a
            // decline the buyer is told of
            Err(s) if s.code() == Code::InvalidArgument => {
                break Command::ChargeFailed {
                    charge_id,
                    why: format!("INVALID_ARGUMENT: {}", s.message()),
                };
            }
            // anything else may hide a charge taken (INTERNAL, ALREADY_EXISTS): never a
            // decline, whose next acceptance is a new id; the charge clock asks again under
            // this one and the desk hears of it
            Err(s) => {
                tracing::error!(charge_id, error = %s, "charge answer unclear; the charge clock asks again");
                return Ok(None);
            }
        }
    };
    let mut tx = pool.begin().await?;
    let Some(before) = store::lock(&mut tx, r.id).await? else {
        return Ok(None);
    };
    let why = match &cmd {
        Command::ChargeFailed { why, .. } => why.clone(),
        _ => String::new(),
    };
    let by = By {
        role: "service",
        id: "payment-gateway",
        reason: &why,
        request_id: &req.charge_id,
    };
    match transition::apply(&mut tx, settings, &before, cmd, by, Utc::now()).await {
        Ok(after) => {
            tx.commit().await?;
            Ok(Some(after))
        }
        // another ask's answer was applied first
        Err(TransitionError::Refused(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
