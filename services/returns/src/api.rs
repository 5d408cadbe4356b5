//! gRPC surface of `returns`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::returns::v1::returns_service_server::{
    ReturnsService, ReturnsServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl ReturnsService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(ReturnsServiceServer::new(Api)),
        policy: Policy::new().allow_service("aftersales.returns.v1.ReturnsService", Role::ALL),
        tasks: Vec::new(),
    })
}
