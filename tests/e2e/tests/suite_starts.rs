//! Every service of the suite starts on its own schema, runs its migrations, reports
//! SERVING for its gRPC service name, refuses unauthenticated calls, and answers an
//! authenticated call to a contract method (UNIMPLEMENTED where the domain has not landed
//! yet, never a transport error).

use std::future::Future;

use kit::{App, Ctx, ServiceSpec, auth::Role};
use testkit::{World, raw_call as call};
use tonic::Code;

async fn check<F, Fut>(spec: ServiceSpec, setup: F, method: &str, allowed: Role)
where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
{
    let world = World::new();
    let svc = world.start(spec, setup).await;
    svc.wait_serving().await;
    for name in spec.grpc_services {
        assert!(
            kit::server::check_health(&svc.url(), name).await.unwrap(),
            "{name} not SERVING"
        );
    }
    let err = call(&svc.url(), method, None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{method}: {err:?}");
    let token = match allowed {
        Role::Partner => world.partner_token("caller-1", "SF"),
        role => world.token(role, "caller-1"),
    };
    match call(&svc.url(), method, Some(&token)).await {
        Ok(_) => {}
        Err(s) => assert!(
            matches!(
                s.code(),
                Code::Unimplemented | Code::InvalidArgument | Code::NotFound
            ),
            "{method}: unexpected {s:?}"
        ),
    }
    svc.stop().await;
}

#[tokio::test]
async fn every_service_starts_and_guards_its_contract() {
    check(
        returns::SPEC,
        returns::setup,
        "/aftersales.returns.v1.ReturnsService/GetReturn",
        Role::Buyer,
    )
    .await;
    check(
        repairs::SPEC,
        repairs::setup,
        "/aftersales.repairs.v1.RepairsService/GetRepair",
        Role::Buyer,
    )
    .await;
    check(
        refunds::SPEC,
        refunds::setup,
        "/aftersales.refunds.v1.RefundsService/GetRefund",
        Role::Buyer,
    )
    .await;
    check(
        complaints::SPEC,
        complaints::setup,
        "/aftersales.complaints.v1.ComplaintsService/GetComplaint",
        Role::Buyer,
    )
    .await;
    check(
        satisfaction::SPEC,
        satisfaction::setup,
        "/aftersales.satisfaction.v1.SatisfactionService/GetSurvey",
        Role::Buyer,
    )
    .await;
    check(
        sla::SPEC,
        sla::setup,
        "/aftersales.sla.v1.SlaService/GetTimer",
        Role::Agent,
    )
    .await;
    check(
        logistics::SPEC,
        logistics::setup,
        "/aftersales.logistics.v1.LogisticsService/GetShipment",
        Role::Partner,
    )
    .await;
    check(
        platform_sandbox::SPEC,
        platform_sandbox::setup,
        "/aftersales.platform.v1.OrderDirectory/GetOrder",
        Role::Agent,
    )
    .await;
}
