//! gRPC surface of `repairs`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::repairs::v1::repairs_service_server::{
    RepairsService, RepairsServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl RepairsService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(RepairsServiceServer::new(Api)),
        policy: Policy::new().allow_service("aftersales.repairs.v1.RepairsService", Role::ALL),
        tasks: Vec::new(),
    })
}
