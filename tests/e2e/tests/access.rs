//! Who may call what, across the suite (SPEC §9). One walk over the descriptor set: every
//! contract is served by some port and every method of every port has an access rule.
//! Then the sensitive doors, over real gRPC: a foreign service identity is refused with
//! PERMISSION_DENIED where only named services may call, and the named one gets through.

use std::future::Future;

use kit::{
    App, Ctx, ServiceSpec,
    auth::Role,
    descriptor,
    server::{access_policy, unruled_methods},
};
use testkit::{World, raw_call};
use tonic::Code;

/// Every port of the suite.
const SPECS: [ServiceSpec; 8] = [
    returns::SPEC,
    repairs::SPEC,
    refunds::SPEC,
    complaints::SPEC,
    satisfaction::SPEC,
    sla::SPEC,
    logistics::SPEC,
    platform_sandbox::SPEC,
];

#[test]
fn every_method_of_every_contract_has_a_rule() {
    let mut served = std::collections::BTreeSet::new();
    for spec in SPECS {
        access_policy(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        assert_eq!(
            unruled_methods(&spec),
            Vec::<String>::new(),
            "{}: methods without an access rule",
            spec.name
        );
        assert!(
            !descriptor::method_paths(spec.grpc_services).is_empty(),
            "{} serves no method",
            spec.name
        );
        served.extend(spec.grpc_services.iter().map(|s| s.to_string()));
    }
    let unserved: Vec<String> = descriptor::all_services()
        .into_iter()
        .filter(|s| !served.contains(s))
        .collect();
    assert!(
        unserved.is_empty(),
        "contracts no port serves: {unserved:?}"
    );
}

/// Starts `spec` and checks `path` against service identities: each of `refused` gets
/// PERMISSION_DENIED (and so does an admin when `admin_refused`), each of `admitted`
/// gets past the layer (whatever the handler then answers an empty request).
async fn check<F, Fut>(
    spec: ServiceSpec,
    setup: F,
    path: &str,
    refused: &[&str],
    admitted: &[&str],
    admin_refused: bool,
) where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<App>> + Send + 'static,
{
    let world = World::new();
    let svc = world.start(spec, setup).await;
    svc.wait_serving().await;
    for caller in refused {
        let token = world.token(Role::Service, caller);
        let err = raw_call(&svc.url(), path, Some(&token)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{caller} on {path}");
        assert!(
            err.message()
                .contains(&format!("service {caller} may not call")),
            "{err:?}"
        );
    }
    if admin_refused {
        let token = world.token(Role::Admin, "ops-1");
        let err = raw_call(&svc.url(), path, Some(&token)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "admin on {path}");
    }
    for caller in admitted {
        let token = world.token(Role::Service, caller);
        if let Err(s) = raw_call(&svc.url(), path, Some(&token)).await {
            assert_ne!(
                s.code(),
                Code::PermissionDenied,
                "{caller} on {path}: {s:?}"
            );
            assert_ne!(s.code(), Code::Unauthenticated, "{caller} on {path}: {s:?}");
        }
    }
    svc.stop().await;
}

const TIMER_CALLBACK: &str = "/aftersales.sla.v1.TimerCallback/OnTimerEvent";

#[tokio::test]
async fn only_sla_delivers_timer_callbacks() {
    // A forged expiry could auto-approve a return or escalate a refund: not even an
    // admin may deliver one by hand.
    let foreign = ["refunds", "repairs", "logistics", "complaints"];
    check(
        returns::SPEC,
        returns::setup,
        TIMER_CALLBACK,
        &foreign,
        &["sla"],
        true,
    )
    .await;
    check(
        refunds::SPEC,
        refunds::setup,
        TIMER_CALLBACK,
        &["returns", "logistics", "satisfaction"],
        &["sla"],
        true,
    )
    .await;
}

#[tokio::test]
async fn only_case_owners_request_refunds_and_register_shipments() {
    check(
        refunds::SPEC,
        refunds::setup,
        "/aftersales.refunds.v1.RefundsService/CreateRefund",
        &["logistics", "satisfaction", "sla"],
        &["returns", "repairs", "complaints"],
        false,
    )
    .await;
    check(
        logistics::SPEC,
        logistics::setup,
        "/aftersales.logistics.v1.LogisticsService/RegisterShipment",
        &["refunds", "satisfaction", "sla"],
        // complaints sends a reship remedy's parcel as the ticket's replacement leg
        &["returns", "repairs", "complaints"],
        false,
    )
    .await;
    check(
        sla::SPEC,
        sla::setup,
        "/aftersales.sla.v1.SlaService/ScheduleTimer",
        &["logistics", "platform-sandbox"],
        &["returns", "refunds"],
        false,
    )
    .await;
    check(
        platform_sandbox::SPEC,
        platform_sandbox::setup,
        "/aftersales.platform.v1.PaymentGateway/SubmitPayout",
        &["returns", "repairs", "complaints"],
        &["refunds"],
        false,
    )
    .await;
}
