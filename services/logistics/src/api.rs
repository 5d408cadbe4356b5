//! gRPC surface of `logistics`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::logistics::v1::logistics_service_server::{
    LogisticsService, LogisticsServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl LogisticsService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(LogisticsServiceServer::new(Api)),
        policy: Policy::new().allow_service("aftersales.logistics.v1.LogisticsService", Role::ALL),
        tasks: Vec::new(),
    })
}
