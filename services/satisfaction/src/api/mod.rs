//! The gRPC surface of `SatisfactionService`. Each method takes the caller and the
//! request to a function of its verb family returning [`kit::Result`], and the error
//! becomes a `Status` once ([`kit::answer`]): [`surveys`] (read, list, rate),
//! [`aggregates`] (and the alerts), [`scorecard`].

mod aggregates;
mod scorecard;
mod surveys;

use aftersales_proto::aftersales::satisfaction::v1::{
    GetAggregatesRequest, GetAggregatesResponse, GetMerchantScorecardRequest, GetSurveyRequest,
    ListAlertsRequest, ListAlertsResponse, ListSurveysRequest, ListSurveysResponse,
    MerchantScorecard, SubmitRatingRequest, Survey,
    satisfaction_service_server::SatisfactionService,
};
use std::sync::Arc;

use kit::{answer, auth::principal};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::settings::Settings;

/// What the API's calls share.
pub struct Api {
    pool: PgPool,
    settings: Arc<Settings>,
}

impl Api {
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Self {
        Self { pool, settings }
    }
}

#[tonic::async_trait]
impl SatisfactionService for Api {
    async fn get_survey(&self, req: Request<GetSurveyRequest>) -> Result<Response<Survey>, Status> {
        let who = principal(&req)?;
        answer(self.get(&who, req.into_inner()).await)
    }

    async fn list_surveys(
        &self,
        req: Request<ListSurveysRequest>,
    ) -> Result<Response<ListSurveysResponse>, Status> {
        let who = principal(&req)?;
        answer(self.list(&who, req.into_inner()).await)
    }

    async fn get_aggregates(
        &self,
        req: Request<GetAggregatesRequest>,
    ) -> Result<Response<GetAggregatesResponse>, Status> {
        let who = principal(&req)?;
        answer(self.aggregates(&who, req.into_inner()).await)
    }

    async fn get_merchant_scorecard(
        &self,
        req: Request<GetMerchantScorecardRequest>,
    ) -> Result<Response<MerchantScorecard>, Status> {
        let who = principal(&req)?;
        answer(self.scorecard(&who, req.into_inner()).await)
    }

    async fn list_alerts(
        &self,
        req: Request<ListAlertsRequest>,
    ) -> Result<Response<ListAlertsResponse>, Status> {
        let who = principal(&req)?;
        answer(self.alerts(&who, req.into_inner()).await)
    }

    async fn submit_rating(
        &self,
        req: Request<SubmitRatingRequest>,
    ) -> Result<Response<Survey>, Status> {
        let who = principal(&req)?;
        answer(self.rate(&who, req.into_inner()).await)
    }
}
