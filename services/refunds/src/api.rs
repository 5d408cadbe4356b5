//! gRPC surface of `refunds`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::refunds::v1::refunds_service_server::{
    RefundsService, RefundsServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl RefundsService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(RefundsServiceServer::new(Api)),
        policy: Policy::new().allow_service("aftersales.refunds.v1.RefundsService", Role::ALL),
        tasks: Vec::new(),
    })
}
