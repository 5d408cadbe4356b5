//! CreateRepair: the order's facts from the order directory (a buyer's own order only),
//! the warranty from those facts and the merchant's published after-sales policy (never
//! from the caller), a lost purchase voucher replaced by the platform's records, written
//! in one statement with its idempotency claim, audit row and
//! outbox rows; one open repair per order line.

use aftersales_proto::aftersales::{
    platform::v1::Order,
    repairs::v1::{CreateRepairRequest, Repair as ProtoRepair},
    returns::v1::{
        GetMerchantPolicyRequest, MerchantPolicy, returns_service_client::ReturnsServiceClient,
    },
};
use chrono::{DateTime, Utc};
use kit::{Error, auth::Principal, idempotency, outbox::Batch, time::from_ts};
use uuid::Uuid;

use super::Api;
use crate::{
    domain::{
        kinds::State,
        machine,
        repair::{Repair, VoucherCheck},
        warranty::{self, Facts},
    },
    effects, names,
    parse::{self, NewRepair},
    render, store,
};

const CREATE: &str = "CreateRepair";

/// What the merchant's published policy says of a repair: warranty months after
/// sign-for, a spare unit, the inspection fee of a declined quote. A shop without a
/// policy promises and charges nothing.
async fn policy(api: &Api, merchant: &str) -> kit::Result<MerchantPolicy> {
    let mut c = ReturnsServiceClient::new(api.peers.get("returns")?);
    let asked = c
        .get_merchant_policy(GetMerchantPolicyRequest {
            name: format!("merchants/{merchant}/policy"),
        })
        .await;
    match asked {
        Ok(p) => Ok(p.into_inner()),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(MerchantPolicy::default()),
        Err(s) => Err(Error::Unavailable(format!(
            "merchant policy: {}",
            s.message()
        ))),
    }
}

impl Api {
    /// The new repair, from the platform's facts.
    async fn draft(
        &self,
        r: &CreateRepairRequest,
        new: &NewRepair,
        now: DateTime<Utc>,
    ) -> kit::Result<(Order, Repair)> {
        let order = kit::platform::buyers_order(&self.peers, &new.order_id, &new.buyer).await?;
        let line = order
            .lines
            .iter()
            .find(|l| l.id == new.order_line_id)
            .ok_or_else(|| Error::invalid("order_line_id", "no such line on the order"))?;
        // seed 001 §7.4: without the voucher, the platform's own records prove the purchase
        let voucher_check = match r.purchase_voucher_lost {
            false => None,
            true => Some(VoucherCheck {
                verified_by: kit::platform::verify_without_voucher(&order)?
                    .into_iter()
                    .map(String::from)
                    .collect(),
                at: now,
            }),
        };
        let terms = policy(self, &order.merchant_id).await?;
        let facts = Facts {
            signed_for: order.signed_for_time.as_ref().and_then(from_ts),
            item_until: line.warranty_until.as_ref().and_then(from_ts),
            policy_months: terms.repair_warranty_months,
        };
        let coverage = warranty::decide(&facts, now, r.accidental_damage);
        let paid = line.paid_amount.clone().unwrap_or_default();
        // a fee in another currency than the order's is not the buyer's to pay
        let fee = match terms.repair_inspection_fee {
            Some(m) if m.currency == paid.currency => m.amount_minor.max(0),
            Some(m) => {
                tracing::warn!(merchant = %order.merchant_id, fee_currency = %m.currency,
                    order_currency = %paid.currency, "inspection fee not in the order's currency: not owed");
                0
            }
            None => 0,
        };
        let mut repair = Repair {
            id: Uuid::now_v7(),
            number: String::new(),
            state: State::Requested,
            order_id: new.order_id.clone(),
            order_line_id: line.id.clone(),
            buyer_id: order.buyer_id.clone(),
            merchant_id: order.merchant_id.clone(),
            category: line.category.clone(),
            region: order.region.clone(),
            line_minor: paid.amount_minor,
            currency: paid.currency,
            product_model: r.product_model.clone(),
            fault_description: r.fault_description.clone(),
            evidence: parse::evidence(&r.evidence),
            buyer_reported_damage: r.accidental_damage,
            warranty_until: None,
            within_warranty: false,
            not_free: None,
            payment_ref: order.payment_ref.clone(),
            spare_unit: terms.spare_unit_offered,
            inspection_fee_minor: fee,
            decline_fee: None,
            repair_address: None,
            return_address: r
                .return_address
                .clone()
                .or_else(|| order.shipping_address.clone())
                .map(|a| parse::address(&a)),
            decline_reason: String::new(),
            cancel_reason: String::new(),
            item_awaited: 0,
            voucher_check,
            diagnosis: None,
            quote: None,
            extension: None,
            progress: Vec::new(),
            inbound: None,
            outbound: None,
            spare: None,
            spare_return: None,
            clocks: Vec::new(),
            clock_seq: 0,
            breaches: Vec::new(),
            repair_due: None,
            overdue_since: None,
            buyer_delays: Vec::new(),
            late_days: 0,
            penalty_minor: 0,
            round: 1,
            repaired: false,
            quality_check_note: String::new(),
            auto_accepted: false,
            first_response: None,
            created: now,
            updated: now,
            closed: None,
            step: 0,
        };
        repair.set_coverage(&coverage);
        Ok((order, repair))
    }

    pub(super) async fn create(
        &self,
        who: &Principal,
        r: CreateRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let new = parse::create(&r, who)?;
        let caller = who.caller_key();
        let key = (caller.as_str(), CREATE, r.request_id.as_str());
        let now = Utc::now();
        let mut repair = match self.draft(&r, &new, now).await {
            Ok((_, repair)) => repair,
            // a retry of a filing that was made is answered as the first time, even
            // while a peer is down or the order has changed since
            Err(e) => {
                return match idempotency::earlier_answer(&self.pool, key, &r).await? {
                    Some(answer) => Ok(answer),
                    None => Err(e),
                };
            }
        };
        let mut conn = self.pool.acquire().await?;
        let seq = store::next_number(&mut conn).await?;
        repair.number = kit::names::case_number(names::NUMBER_PREFIX, now, seq);
        let fx = machine::open(&mut repair, now, &self.settings.spans);
        let mut out = Batch::default();
        effects::requested(&mut out, &repair);
        effects::write(&mut out, &repair, State::Requested, "create", &fx);
        // the answer is the repair as inserted: stored with the claim, in one statement
        let answer = render::repair(&repair);
        let claim = idempotency::Answered::new(key, &r, &answer);
        let audit = kit::audit::Write {
            actor: (who.role.as_str(), who.id.as_str()),
            from_state: None,
            to_state: repair.state as i16,
            action: "create",
            reason: "",
            request_id: &r.request_id,
        };
        if !store::create(&mut conn, &repair, &audit, claim, out).await? {
            // a duplicate request_id: the first call's answer (or its refusal)
            return idempotency::replay_duplicate(&mut conn, key, &r).await;
        }
        tracing::info!(repair = %names::name(&repair), number = %repair.number, "repair requested");
        Ok(answer)
    }
}
