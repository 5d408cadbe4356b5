//! What a gRPC client finds at any port, proved against the demo service over loopback:
//! reflection lists the port's own services (v1 and v1alpha), a method the port does not
//! serve is UNIMPLEMENTED, a served method without a rule stays closed and a request over
//! the size limit is RESOURCE_EXHAUSTED, as gRPC's conventions say.

use crate::demo;

use aftersales_proto::aftersales::returns::v1::{
    CreateReturnRequest, ListReturnsRequest, returns_service_client::ReturnsServiceClient,
};
use kit::auth::Role;
use testkit::{World, authed, raw_call};
use tonic::Code;

async fn listed_v1(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    match reply.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            let mut names: Vec<String> = l.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("not a service list: {other:?}"),
    }
}

async fn listed_v1alpha(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    match reply.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            let mut names: Vec<String> = l.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("not a service list: {other:?}"),
    }
}

#[tokio::test]
async fn reflection_lists_the_ports_own_services_in_both_versions() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let own = [
        "aftersales.returns.v1.ReturnsService".to_string(),
        "grpc.health.v1.Health".to_string(),
    ];
    assert_eq!(listed_v1(svc.channel()).await, own);
    assert_eq!(listed_v1alpha(svc.channel()).await, own);
    svc.stop().await;
}

#[tokio::test]
async fn unknown_methods_are_unimplemented_and_unruled_ones_closed() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let agent = world.token(Role::Agent, "cs-1");
    let admin = world.token(Role::Admin, "ops-1");
    for token in [None, Some(agent.as_str())] {
        for path in [
            "/no.such.Service/Foo",
            // a real contract, but not served on this port
            "/aftersales.refunds.v1.RefundsService/GetRefund",
            // a served service, but no such method
            "/aftersales.returns.v1.ReturnsService/NoSuchMethod",
        ] {
            let err = raw_call(&svc.url(), path, token).await.unwrap_err();
            assert_eq!(err.code(), Code::Unimplemented, "{path}: {err:?}");
            assert!(err.message().contains("not served"), "{err:?}");
        }
    }
    // ListReturns is served but the demo's table has no rule for it: closed, even to an
    // admin (deny by default).
    let err = ReturnsServiceClient::new(svc.channel())
        .list_returns(authed(ListReturnsRequest::default(), &admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("not open to any caller"), "{err:?}");
    svc.stop().await;
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_resource_exhausted() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let buyer = world.token(Role::Buyer, "buyer-1");
    let huge = CreateReturnRequest {
        order_id: "o-1".into(),
        quantity: 1,
        description: "x".repeat(5 << 20),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let err = ReturnsServiceClient::new(svc.channel())
        .create_return(authed(huge, &buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("too large"), "{err:?}");
    // a request of normal size still goes through
    let ok = CreateReturnRequest {
        order_id: "o-1".into(),
        quantity: 1,
        description: "torn".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    ReturnsServiceClient::new(svc.channel())
        .create_return(authed(ok, &buyer))
        .await
        .unwrap();
    svc.stop().await;
}
