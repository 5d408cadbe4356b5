//! gRPC surface of `complaints`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::complaints::v1::complaints_service_server::{
    ComplaintsService, ComplaintsServiceServer,
};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl ComplaintsService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(ComplaintsServiceServer::new(Api)),
        policy: Policy::new()
            .allow_service("aftersales.complaints.v1.ComplaintsService", Role::ALL),
        tasks: Vec::new(),
    })
}
