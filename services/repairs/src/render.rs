//! The contract's view of a repair.

use aftersales_proto::aftersales::{
    common::v1::{
        ActorRole, Address as ProtoAddress, AuditEntry, Clock as ProtoClock, EvidenceRef, Money,
        VoucherCheck,
    },
    repairs::v1::{
        Diagnosis as ProtoDiagnosis, Extension as ProtoExtension, ProgressEntry,
        Quote as ProtoQuote, QuoteDecision, QuoteLabour, QuotePart, Repair as ProtoRepair,
        RepairFee, RepairParcel, WarrantyDecision,
    },
};
use kit::time::ts;

use crate::{
    domain::{
        clocks::ClockKind,
        kinds::State,
        repair::{Address, Clock, Parcel, Repair},
    },
    names::{name, timer_id},
};

fn money(minor: i64, r: &Repair) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: r.currency.clone(),
    })
}

fn evidence(uris: &[String]) -> Vec<EvidenceRef> {
    uris.iter()
        .map(|u| EvidenceRef {
            uri: u.clone(),
            ..Default::default()
        })
        .collect()
}

/// Who must act before a clock of `kind` runs out.
fn waiting_on(kind: ClockKind) -> ActorRole {
    use ClockKind::*;
    match kind {
        FirstResponse | FormalAnswer | MerchantStep | RepairDue | Overdue => ActorRole::Merchant,
        ItemInbound | QuoteDecision | BuyerAcceptance => ActorRole::Buyer,
        Charge => ActorRole::System,
        Transit => ActorRole::Partner,
    }
}

fn clock(r: &Repair, k: &Clock) -> ProtoClock {
    ProtoClock {
        kind: k.kind.as_str().into(),
        due_time: Some(ts(k.due)),
        timer: kit::sla::timer_name(&timer_id(r, k.seq)),
        paused: false,
        remaining: None,
        waiting_on: waiting_on(k.kind) as i32,
    }
}

pub fn address(a: &Address) -> ProtoAddress {
    ProtoAddress {
        contact_name: a.contact_name.clone(),
        phone: a.phone.clone(),
        country_code: a.country_code.clone(),
        province: a.province.clone(),
        city: a.city.clone(),
        district: a.district.clone(),
        street: a.street.clone(),
        postal_code: a.postal_code.clone(),
    }
}

fn parcel(p: &Parcel) -> RepairParcel {
    RepairParcel {
        carrier_code: p.carrier.clone(),
        tracking_number: p.tracking.clone(),
        shipment: String::new(),
        shipped_time: Some(ts(p.shipped)),
        delivered_time: p.delivered.map(ts),
    }
}

fn quote(r: &Repair) -> Option<ProtoQuote> {
    let q = r.quote.as_ref()?;
    let p = &q.priced;
    Some(ProtoQuote {
        parts: p
            .parts
            .iter()
            .map(|x| QuotePart {
                part: x.part.clone(),
                quantity: x.quantity,
                unit_cost: money(x.unit_cost_minor, r),
            })
            .collect(),
        labour: p
            .labour
            .iter()
            .map(|x| QuoteLabour {
                grade: x.grade as i32,
                hourly_rate: money(x.hourly_rate_minor, r),
                minutes: x.minutes,
            })
            .collect(),
        parts_total: money(p.parts_total, r),
        labour_total: money(p.labour_total, r),
        total: money(p.total, r),
        note: q.note.clone(),
        quote_time: Some(ts(q.at)),
        decision: match q.accepted {
            None => QuoteDecision::Unspecified,
            Some(true) => QuoteDecision::Accepted,
            Some(false) => QuoteDecision::Declined,
        } as i32,
        decline_reason: q.decline_reason.clone(),
        decide_time: q.decided.map(ts),
        payable: money(p.payable, r),
        charge: q
            .charge_id
            .as_ref()
            .map(|id| format!("charges/{id}"))
            .unwrap_or_default(),
        charge_time: q.charged.map(ts),
        charge_failure: q.charge_failure.clone(),
    })
}

/// The repair as the contract shows it.
pub fn repair(r: &Repair) -> ProtoRepair {
    let first = r.shown_clock();
    ProtoRepair {
        name: name(r),
        state: r.state as i32,
        order_id: r.order_id.clone(),
        order_line_id: r.order_line_id.clone(),
        buyer_id: r.buyer_id.clone(),
        merchant_id: r.merchant_id.clone(),
        fault_description: r.fault_description.clone(),
        evidence: evidence(&r.evidence),
        within_warranty: r.within_warranty,
        spare_unit: r.spare_unit,
        repair_address: r.repair_address.as_ref().map(address),
        return_address: r.return_address.as_ref().map(address),
        diagnosis: r.diagnosis.as_ref().map(|d| ProtoDiagnosis {
            fault: d.fault.clone(),
            warranty: if d.within_warranty {
                WarrantyDecision::InWarranty
            } else {
                WarrantyDecision::OutOfWarranty
            } as i32,
            buyer_caused: d.buyer_caused,
            evidence: evidence(&d.evidence),
            diagnose_time: Some(ts(d.at)),
        }),
        free_of_charge: r.free(),
        quote: quote(r),
        extension: r.extension.as_ref().map(|e| ProtoExtension {
            reason: e.reason.clone(),
            previous_due_time: Some(ts(e.previous_due)),
            new_due_time: Some(ts(e.new_due)),
            extend_time: Some(ts(e.at)),
        }),
        progress: r
            .progress
            .iter()
            .map(|p| ProgressEntry {
                time: Some(ts(p.at)),
                actor: Some(aftersales_proto::aftersales::common::v1::Actor {
                    role: kit::audit::actor_role(&p.role) as i32,
                    id: p.actor_id.clone(),
                }),
                stage: p.stage.clone(),
                message: p.message.clone(),
                evidence: Vec::new(),
            })
            .collect(),
        inbound_parcel: r.inbound.as_ref().map(parcel),
        outbound_parcel: r.outbound.as_ref().map(parcel),
        clock: first.map(|k| clock(r, k)),
        round: r.round,
        quality_check_note: r.quality_check_note.clone(),
        decline_reason: r.decline_reason.clone(),
        auto_accepted: r.auto_accepted,
        penalty_accrued: money(r.penalty_minor, r),
        late_days: r.late_days,
        create_time: Some(ts(r.created)),
        first_response_time: r.first_response.map(ts),
        update_time: Some(ts(r.updated)),
        close_time: r.closed.map(ts),
        repair_number: r.number.clone(),
        product_model: r.product_model.clone(),
        accidental_damage: r.buyer_reported_damage,
        warranty_until: r.warranty_until.map(ts),
        spare_parcel: r.spare.as_ref().map(parcel),
        spare_return_parcel: r.spare_return.as_ref().map(parcel),
        voucher_check: r.voucher_check.as_ref().map(|v| VoucherCheck {
            verified_by: v.verified_by.clone(),
            verify_time: Some(ts(v.at)),
        }),
        cancel_reason: r.cancel_reason.clone(),
        // owed only by a paid repair's declined quote
        inspection_fee: (r.inspection_fee_minor > 0 && !r.free())
            .then(|| money(r.inspection_fee_minor, r))
            .flatten(),
        decline_fee: r.decline_fee.as_ref().map(|f| RepairFee {
            amount: money(f.minor, r),
            charge: format!("charges/{}", f.charge_id),
            charge_time: f.charged.map(ts),
            charge_failure: f.failure.clone(),
        }),
    }
}

fn state_name(v: i16) -> &'static str {
    State::from_i32(v as i32).map_or("", |s| s.as_str())
}

/// An audit row as the contract shows it.
pub fn audit_entry(a: &kit::audit::Stored) -> AuditEntry {
    kit::audit::stored_entry(a, state_name)
}
