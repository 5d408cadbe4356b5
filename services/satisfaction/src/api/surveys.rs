//! The buyer's side: a survey read, listed, and rated once. A survey the caller may not
//! see (another buyer's) does not exist for it.

use aftersales_proto::aftersales::satisfaction::v1::{
    GetSurveyRequest, ListSurveysRequest, ListSurveysResponse, SubmitRatingRequest, Survey,
};
use chrono::{SubsecRound, Utc};
use kit::{
    Error,
    auth::{Principal, Role},
    idempotency::{self, Claim},
    outbox::Batch,
};

use super::Api;
use crate::{csat, domain::survey::Refusal, effects, names, parse, render, store};

fn not_found(name: &str) -> Error {
    Error::NotFound {
        resource: "survey",
        name: name.to_string(),
    }
}

impl Api {
    pub(super) async fn get(&self, who: &Principal, r: GetSurveyRequest) -> kit::Result<Survey> {
        let id = names::survey_id("name", &r.name)?;
        store::get(&self.pool, id)
            .await?
            .filter(|s| who.can_see_case(&s.case.buyer_id, &s.case.merchant_id))
            .map(|s| render::survey(&s))
            .ok_or_else(|| not_found(&r.name))
    }

    pub(super) async fn list(
        &self,
        who: &Principal,
        r: ListSurveysRequest,
    ) -> kit::Result<ListSurveysResponse> {
        let (states, page) = parse::list(&r)?;
        // a buyer lists their own; staff any
        let buyer = (who.role == Role::Buyer).then_some(who.id.as_str());
        let mut rows = store::list(&self.pool, buyer, &states, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |s| s.id.to_string());
        Ok(ListSurveysResponse {
            surveys: rows.iter().map(render::survey).collect(),
            next_page_token,
        })
    }

    /// One rating per case, by its buyer: the survey locked, the rating, its event and
    /// the window's cancel written with the idempotency record, in one transaction.
    pub(super) async fn rate(
        &self,
        who: &Principal,
        r: SubmitRatingRequest,
    ) -> kit::Result<Survey> {
        const METHOD: &str = "SubmitRating";
        let (id, scores, comment) = parse::rating(&r)?;
        let caller = who.caller_key();
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, METHOD, &r.request_id, &r).await?
        {
            return idempotency::decode_replay(&bytes);
        }
        let mut s = store::lock(&mut tx, id)
            .await?
            .filter(|s| s.case.buyer_id == who.id)
            .ok_or_else(|| not_found(&r.name))?;
        // a refusal drops `tx`: the claim goes with it and nothing was written
        // at the database's precision, so the answer is what a read shows later
        let now = Utc::now().trunc_subsecs(6);
        s.rate(scores, comment, now).map_err(|why| match why {
            Refusal::AlreadyRated => {
                Error::AlreadyExists(format!("{} was rated already: one rating per case", r.name))
            }
            Refusal::Expired => Error::FailedPrecondition {
                reason: "SURVEY_EXPIRED",
                kind: "STATE",
                subject: "EXPIRED".into(),
                description: "the survey's window closed unanswered".into(),
            },
        })?;
        store::update(&mut tx, &s).await?;
        store::rollups::rated(&mut tx, &s).await?;
        let mut out = Batch::default();
        effects::rated(&mut out, &s);
        csat::judge(&mut tx, &self.settings, &s.case.merchant_id, now, &mut out).await?;
        out.flush(&mut tx).await?;
        let answer = render::survey(&s);
        idempotency::complete(&mut tx, &caller, METHOD, &r.request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
