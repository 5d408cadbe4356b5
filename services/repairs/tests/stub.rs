//! Until its domain lands, `repairs` answers every RPC UNIMPLEMENTED, after
//! authentication like any service.

use aftersales_proto::aftersales::repairs::v1::GetRepairRequest;
use testkit::authed;
use tonic::Code;

use crate::harness::Harness;

#[tokio::test]
async fn methods_answer_unimplemented_after_authentication() {
    let h = Harness::start(&[]).await;
    let req = || GetRepairRequest {
        name: "repairs/00000000-0000-0000-0000-000000000000".into(),
    };
    let anonymous = h.client().get_repair(req()).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let agent = h
        .client()
        .get_repair(authed(req(), &h.agent))
        .await
        .unwrap_err();
    assert_eq!(agent.code(), Code::Unimplemented);
}
