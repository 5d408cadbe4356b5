//! gRPC surface of `satisfaction`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::satisfaction::v1::satisfaction_service_server::{
    SatisfactionService, SatisfactionServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl SatisfactionService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(SatisfactionServiceServer::new(Api)),
        policy: Policy::new()
            .allow_service("aftersales.satisfaction.v1.SatisfactionService", Role::ALL),
        tasks: Vec::new(),
    })
}
