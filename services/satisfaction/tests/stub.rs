//! Until its domain lands, `satisfaction` answers every RPC UNIMPLEMENTED, after
//! authentication like any service.

use aftersales_proto::aftersales::satisfaction::v1::GetSurveyRequest;
use testkit::authed;
use tonic::Code;

use crate::harness::Harness;

#[tokio::test]
async fn methods_answer_unimplemented_after_authentication() {
    let h = Harness::start(&[]).await;
    let req = || GetSurveyRequest {
        name: "surveys/00000000-0000-0000-0000-000000000000".into(),
    };
    let anonymous = h.client().get_survey(req()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let agent = h
        .client()
        .get_survey(authed(req(), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(agent.code(), Code::Unimplemented);
}
