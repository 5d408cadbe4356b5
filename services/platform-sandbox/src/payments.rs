//! The sandbox PaymentGateway: payouts (refunds) and charges (paid repairs), each
//! deduplicated by its caller's id, so a retried or replayed submission returns what
//! exists instead of paying or charging again; latency and failures as the test set
//! them (`SandboxControl.SetPaymentBehaviour`).

use aftersales_proto::aftersales::common::v1::Money;
use aftersales_proto::aftersales::platform::v1::{
    Charge, ChargeState, GetChargeRequest, GetPayoutRequest, PaymentFailureMode, Payout,
    PayoutState, SubmitChargeRequest, SubmitPayoutRequest, payment_gateway_server::PaymentGateway,
};
use kit::{Error, error::Violations};
use tonic::{Request, Response, Status};

use crate::{
    ports::{Ports, elapsed_since, now, to_duration},
    state::State,
};

impl Ports {
    /// The payout's state as of now: PROCESSING until `settle_after` has passed.
    pub(crate) fn settle(&self, mut p: Payout) -> Payout {
        if p.state == PayoutState::Processing as i32 {
            let settle_after = to_duration(&self.sb.lock().behaviour.settle_after);
            if elapsed_since(&p.create_time) >= settle_after {
                p.state = PayoutState::Succeeded as i32;
                p.complete_time = Some(now());
                self.sb
                    .lock()
                    .payouts
                    .insert(p.payout_id.clone(), p.clone());
            }
        }
        p
    }
}

fn positive(v: &mut Violations, amount: &Option<Money>) {
    match amount {
        Some(m) if m.amount_minor > 0 && m.currency.len() == 3 => {}
        _ => v.add("amount", "must be positive with an ISO-4217 currency"),
    }
}

/// Whether this call fails as the test set it (the next N, or at the failure rate): a
/// decline (true), or an outage (UNAVAILABLE). Drawn under the state's lock.
fn declined(s: &mut State) -> Result<bool, Status> {
    let fail = if s.behaviour.fail_next > 0 {
        s.behaviour.fail_next -= 1;
        true
    } else {
        rand::random::<f64>() < s.behaviour.failure_rate
    };
    let mode = PaymentFailureMode::try_from(s.behaviour.failure_mode)
        .unwrap_or(PaymentFailureMode::Unavailable);
    if fail && mode != PaymentFailureMode::Decline {
        return Err(Status::unavailable("sandbox gateway: simulated outage"));
    }
    Ok(fail)
}

#[tonic::async_trait]
impl PaymentGateway for Ports {
    async fn submit_payout(
        &self,
        req: Request<SubmitPayoutRequest>,
    ) -> Result<Response<Payout>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.payout_id.is_empty() {
            v.add("payout_id", "is required: the gateway deduplicates on it");
        }
        positive(&mut v, &r.amount);
        if r.original_payment_ref.is_empty() {
            v.add(
                "original_payment_ref",
                "is required: refunds go to the original method",
            );
        }
        v.finish()?;

        let latency = {
            let mut s = self.sb.lock();
            *s.submit_calls
                .entry((r.payout_id.clone(), r.refund.clone()))
                .or_default() += 1;
            s.behaviour.latency
        };
        tokio::time::sleep(to_duration(&latency)).await;

        // Idempotent on payout_id: the lookup, the failure draw and the insert happen under
        // one lock, so concurrent submissions of one id cannot both pay.
        let payout = {
            let mut s = self.sb.lock();
            if let Some(existing) = s.payouts.get(&r.payout_id).cloned() {
                drop(s);
                return Ok(Response::new(self.settle(existing)));
            }
            let fail = declined(&mut s)?;
            let mut payout = Payout {
                name: format!("payouts/{}", r.payout_id),
                payout_id: r.payout_id.clone(),
                refund: r.refund,
                amount: r.amount,
                original_payment_ref: r.original_payment_ref,
                state: PayoutState::Processing as i32,
                create_time: Some(now()),
                ..Default::default()
            };
            if fail {
                payout.state = PayoutState::Failed as i32;
                payout.failure_code = "DECLINED".into();
                payout.failure_message = "sandbox gateway: simulated decline".into();
                payout.complete_time = Some(now());
            }
            s.payouts.insert(payout.payout_id.clone(), payout.clone());
            payout
        };
        Ok(Response::new(self.settle(payout)))
    }

    async fn get_payout(&self, req: Request<GetPayoutRequest>) -> Result<Response<Payout>, Status> {
        let name = req.into_inner().name;
        let id = name
            .strip_prefix("payouts/")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("name", "must look like payouts/{payout_id}"))?;
        let found = self.sb.lock().payouts.get(id).cloned();
        match found {
            Some(p) => Ok(Response::new(self.settle(p))),
            None => Err(Error::NotFound {
                resource: "payout",
                name,
            }
            .into()),
        }
    }

    async fn submit_charge(
        &self,
        req: Request<SubmitChargeRequest>,
    ) -> Result<Response<Charge>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.charge_id.is_empty() {
            v.add("charge_id", "is required: the gateway deduplicates on it");
        }
        if r.reference.is_empty() {
            v.add("reference", "is required: what the charge pays for");
        }
        positive(&mut v, &r.amount);
        if r.payment_ref.is_empty() {
            v.add("payment_ref", "is required: the method charged");
        }
        v.finish()?;

        let latency = {
            let mut s = self.sb.lock();
            *s.charge_calls.entry(r.reference.clone()).or_default() += 1;
            s.behaviour.latency
        };
        tokio::time::sleep(to_duration(&latency)).await;

        // Idempotent on charge_id: the lookup, the failure draw and the insert happen under
        // one lock, so concurrent submissions of one id cannot both charge.
        let mut s = self.sb.lock();
        if let Some(existing) = s.charges.iter().find(|c| c.charge_id == r.charge_id) {
            if existing.amount != r.amount
                || existing.payment_ref != r.payment_ref
                || existing.reference != r.reference
            {
                return Err(Error::AlreadyExists(format!(
                    "{} was submitted with another amount, payment or reference",
                    existing.name
                ))
                .into());
            }
            return Ok(Response::new(existing.clone()));
        }
        let fail = declined(&mut s)?;
        let mut charge = Charge {
            name: format!("charges/{}", r.charge_id),
            charge_id: r.charge_id.clone(),
            reference: r.reference,
            amount: r.amount,
            payment_ref: r.payment_ref,
            state: ChargeState::Succeeded as i32,
            complete_time: Some(now()),
            ..Default::default()
        };
        if fail {
            charge.state = ChargeState::Failed as i32;
            charge.failure_code = "INSUFFICIENT_FUNDS".into();
            charge.failure_message = "sandbox gateway: simulated decline".into();
        }
        s.charges.push(charge.clone());
        Ok(Response::new(charge))
    }

    async fn get_charge(&self, req: Request<GetChargeRequest>) -> Result<Response<Charge>, Status> {
        let name = req.into_inner().name;
        let id = name
            .strip_prefix("charges/")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("name", "must look like charges/{charge_id}"))?;
        let found = self
            .sb
            .lock()
            .charges
            .iter()
            .find(|c| c.charge_id == id)
            .cloned();
        found.map(Response::new).ok_or_else(|| {
            Error::NotFound {
                resource: "charge",
                name,
            }
            .into()
        })
    }
}
