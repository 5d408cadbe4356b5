//! The steps after the merchant's answer: the item's parcel in (the buyer), the
//! diagnosis, a quote and its decline, the extension, progress, the quality check, the
//! parcel back (the merchant), and the buyer's acceptance or reopen. Accepting a quote
//! charges it through the payment gateway once the acceptance is committed.

use aftersales_proto::aftersales::repairs::v1::{
    AcceptQuoteRequest, AcceptRepairedItemRequest, CompleteRepairRequest, DeclineQuoteRequest,
    DiagnoseRepairRequest, ExtendRepairRequest, QuoteRepairRequest, ReopenRepairRequest,
    Repair as ProtoRepair, ReportRepairProgressRequest, ShipRepairedItemRequest,
    SubmitRepairShipmentRequest,
};
use kit::auth::Principal;

use super::{Api, steps::Step};
use crate::{charges, domain::machine::Command, error::not_found, names, parse, render, store};

fn step<'a>(name: &'a str, method: &'static str, request_id: &'a str, reason: &'a str) -> Step<'a> {
    Step {
        name,
        method,
        request_id,
        reason,
    }
}

impl Api {
    pub(super) async fn submit_shipment(
        &self,
        who: &Principal,
        r: SubmitRepairShipmentRequest,
    ) -> kit::Result<ProtoRepair> {
        let (carrier, tracking) =
            parse::parcel(&r.carrier_code, &r.tracking_number, &r.request_id)?;
        let s = step(&r.name, "SubmitRepairShipment", &r.request_id, "");
        let cmd = Command::ItemShipped {
            carrier,
            tracking,
            booked: false,
        };
        self.act(who, s, &r, cmd).await
    }

    pub(super) async fn diagnose(
        &self,
        who: &Principal,
        r: DiagnoseRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let (fault, buyer_caused, evidence) = parse::diagnose(&r)?;
        let s = step(&r.name, "DiagnoseRepair", &r.request_id, &r.fault);
        let cmd = Command::Diagnose {
            fault,
            buyer_caused,
            evidence,
        };
        self.act(who, s, &r, cmd).await
    }

    pub(super) async fn quote(
        &self,
        who: &Principal,
        r: QuoteRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        // the lines are in the order's currency: read it first (NOT_FOUND as any step)
        let id = names::repair_id("name", &r.name)?;
        let currency = store::get(&self.pool, id)
            .await?
            .filter(|x| who.can_see_case(&x.buyer_id, &x.merchant_id))
            .map(|x| x.currency)
            .ok_or_else(|| crate::error::not_found(&r.name))?;
        let (parts, labour) = parse::quote(&r, &currency)?;
        let s = step(&r.name, "QuoteRepair", &r.request_id, &r.note);
        let cmd = Command::Quote {
            parts,
            labour,
            note: r.note.clone(),
        };
        self.act(who, s, &r, cmd).await
    }

    /// Accepted, the quote is charged (the acceptance committed first: a charge is never
    /// asked inside a transaction). Answers the repair as it stands after the charge,
    /// read again, never the stored answer: REPAIRING once charged, QUOTED again after a
    /// decline (the reason shown), QUOTED with the acceptance recorded when the gateway
    /// did not answer (the charge clock asks again). A retry with the same request id
    /// asks a charge still unanswered again, same charge id; a new request id is another
    /// acceptance, refused while one is pending.
    pub(super) async fn accept_quote(
        &self,
        who: &Principal,
        r: AcceptQuoteRequest,
    ) -> kit::Result<ProtoRepair> {
        parse::step_text("name", "", false, &r.request_id)?;
        let s = step(&r.name, "AcceptQuote", &r.request_id, "");
        let cmd = Command::DecideQuote {
            accept: true,
            reason: String::new(),
        };
        self.act(who, s, &r, cmd).await?;
        self.charge_owed(&r.name).await
    }

    /// The charge a step just committed owes (the accepted quote, or a declined one's
    /// inspection fee), asked now; the repair as it stands after, read again.
    async fn charge_owed(&self, name: &str) -> kit::Result<ProtoRepair> {
        let id = names::repair_id("name", name)?;
        let repair = store::get(&self.pool, id)
            .await?
            .ok_or_else(|| not_found(name))?;
        if let Some(after) =
            charges::settle(&self.pool, &self.peers, &self.settings, &repair).await?
        {
            return Ok(render::repair(&after));
        }
        // no answer applied here (none came, or the charge clock's ask applied it first)
        let now = store::get(&self.pool, id).await?;
        Ok(render::repair(now.as_ref().unwrap_or(&repair)))
    }

    pub(super) async fn decline_quote(
        &self,
        who: &Principal,
        r: DeclineQuoteRequest,
    ) -> kit::Result<ProtoRepair> {
        let reason = parse::step_text("reason", &r.reason, false, &r.request_id)?;
        let s = step(&r.name, "DeclineQuote", &r.request_id, &r.reason);
        let cmd = Command::DecideQuote {
            accept: false,
            reason,
        };
        self.act(who, s, &r, cmd).await?;
        // the policy's inspection fee, when it has one
        self.charge_owed(&r.name).await
    }

    pub(super) async fn extend(
        &self,
        who: &Principal,
        r: ExtendRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let (reason, new_due) = parse::extend(&r)?;
        let s = step(&r.name, "ExtendRepair", &r.request_id, &r.reason);
        self.act(who, s, &r, Command::Extend { reason, new_due })
            .await
    }

    pub(super) async fn progress(
        &self,
        who: &Principal,
        r: ReportRepairProgressRequest,
    ) -> kit::Result<ProtoRepair> {
        let (stage, message) = parse::progress(&r)?;
        let s = step(&r.name, "ReportRepairProgress", &r.request_id, &r.stage);
        let cmd = Command::Progress {
            role: who.role.to_string(),
            actor_id: who.id.clone(),
            stage,
            message,
        };
        self.act(who, s, &r, cmd).await
    }

    pub(super) async fn complete(
        &self,
        who: &Principal,
        r: CompleteRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let note = parse::step_text(
            "quality_check_note",
            &r.quality_check_note,
            true,
            &r.request_id,
        )?;
        let s = step(
            &r.name,
            "CompleteRepair",
            &r.request_id,
            &r.quality_check_note,
        );
        let cmd = Command::Complete {
            passed: r.quality_check_passed,
            note,
        };
        self.act(who, s, &r, cmd).await
    }

    pub(super) async fn ship_back(
        &self,
        who: &Principal,
        r: ShipRepairedItemRequest,
    ) -> kit::Result<ProtoRepair> {
        let (carrier, tracking) =
            parse::parcel(&r.carrier_code, &r.tracking_number, &r.request_id)?;
        let s = step(&r.name, "ShipRepairedItem", &r.request_id, "");
        self.act(who, s, &r, Command::ShipBack { carrier, tracking })
            .await
    }

    pub(super) async fn accept_item(
        &self,
        who: &Principal,
        r: AcceptRepairedItemRequest,
    ) -> kit::Result<ProtoRepair> {
        parse::step_text("name", "", false, &r.request_id)?;
        let s = step(&r.name, "AcceptRepairedItem", &r.request_id, "");
        self.act(who, s, &r, Command::AcceptItem).await
    }

    pub(super) async fn reopen(
        &self,
        who: &Principal,
        r: ReopenRepairRequest,
    ) -> kit::Result<ProtoRepair> {
        let reason = parse::step_text("reason", &r.reason, true, &r.request_id)?;
        let s = step(&r.name, "ReopenRepair", &r.request_id, &r.reason);
        self.act(who, s, &r, Command::Reopen { reason }).await
    }
}
