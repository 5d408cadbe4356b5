//! Harness for the satisfaction tests: the platform sandbox (notices), the SLA service
//! (the survey's window) and satisfaction, each on its own schema, over real gRPC on
//! loopback; completion events appended to the cases' streams as their relays do.

use aftersales_proto::aftersales::{
    common::v1::{CaseContext, EventEnvelope},
    satisfaction::v1::{
        ListSurveysRequest, Scores, SubmitRatingRequest, Survey, SurveyState,
        satisfaction_service_client::SatisfactionServiceClient,
    },
};
use kit::auth::Role;
use testkit::{Running, World, announce, authed, peer, platform::Sandbox};
use tonic::transport::Channel;

pub struct Suite {
    pub world: World,
    pub platform: Sandbox,
    #[allow(dead_code)]
    pub sla: Running,
    pub satisfaction: Running,
    pub buyer: String,
    pub agent: String,
}

impl Suite {
    /// Starts everything with `env` (e.g. `SATISFACTION_SURVEY_WINDOW=1s`).
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        let [sandbox, sla, satisfaction] = world
            .start_peers([
                peer("platform", platform_sandbox::SPEC, platform_sandbox::setup),
                peer("sla", sla::SPEC, sla::setup),
                peer("satisfaction", satisfaction::SPEC, satisfaction::setup),
            ])
            .await;
        Self {
            platform: Sandbox::new(&world, &sandbox),
            buyer: world.token(Role::Buyer, "buyer-1"),
            agent: world.token(Role::Agent, "cs-1"),
            world,
            sla,
            satisfaction,
        }
    }

    pub fn client(&self) -> SatisfactionServiceClient<Channel> {
        SatisfactionServiceClient::new(self.satisfaction.channel())
    }

    /// Appends `e` to `topic`, as that service's relay does.
    pub async fn announce(&self, topic: &str, e: &EventEnvelope) {
        announce(&self.world, topic, e).await;
    }

    /// Every survey in `states` (all when empty), as staff see them.
    pub async fn surveys(&self, states: &[SurveyState]) -> Vec<Survey> {
        let mut states: Vec<i32> = states.iter().map(|s| *s as i32).collect();
        if states.is_empty() {
            states = vec![1, 2, 3];
        }
        self.client()
            .list_surveys(authed(
                ListSurveysRequest {
                    page_size: 100,
                    states,
                    ..Default::default()
                },
                &self.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .surveys
    }

    /// `SELECT` on the satisfaction schema (`{s}` is replaced by it).
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.world.scalar("satisfaction", sql).await
    }
}

pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn ts(secs_ago: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() - secs_ago,
        nanos: 0,
    })
}

/// buyer-1's case `case` at merchant-1.
pub fn context(case: &str) -> Option<CaseContext> {
    Some(CaseContext {
        case_name: case.into(),
        order_id: "o-1".into(),
        order_line_id: "l1".into(),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        category: "electronics".into(),
        region: "CN-31".into(),
    })
}

pub fn rating(name: &str, scores: [u32; 5]) -> SubmitRatingRequest {
    let [a, b, c, d, e] = scores;
    SubmitRatingRequest {
        name: name.into(),
        scores: Some(Scores {
            response_speed: a,
            resolution_effect: b,
            service_attitude: c,
            process_convenience: d,
            timeliness: e,
        }),
        comment: "quick and polite".into(),
        request_id: rid(),
    }
}
