//! gRPC surface of `sla`. Its domain lands in its own issue; until then every RPC
//! answers UNIMPLEMENTED (after authentication), so callers see an honest status.

use aftersales_proto::aftersales::sla::v1::sla_service_server::{SlaService, SlaServiceServer};
use kit::{
    App, Ctx,
    auth::{Policy, Role},
};
use tonic::service::Routes;

struct Api;

impl SlaService for Api {}

pub fn app(_ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(SlaServiceServer::new(Api)),
        policy: Policy::new().allow_service("aftersales.sla.v1.SlaService", Role::ALL),
        tasks: Vec::new(),
    })
}
