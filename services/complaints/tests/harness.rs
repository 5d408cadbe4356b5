//! The complaints tests' harness: a world with `complaints` running in-process on its own
//! schema, and tokens to call it with. Peers join through `testkit::start_peers` once
//! complaints calls any.

#![allow(dead_code)]

use aftersales_proto::aftersales::complaints::v1::complaints_service_client::ComplaintsServiceClient;
use kit::auth::Role;
use testkit::{Running, World, peer};
use tonic::transport::Channel;

/// The running world.
pub struct Harness {
    pub world: World,
    pub complaints: Running,
    pub agent: String,
}

impl Harness {
    /// Starts complaints with `env`.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        let [complaints] = world
            .start_peers([peer("complaints", complaints::SPEC, complaints::setup)])
            .await;
        let agent = world.token(Role::Agent, "agent-7");
        Self {
            world,
            complaints,
            agent,
        }
    }

    /// A client of complaints.
    pub fn client(&self) -> ComplaintsServiceClient<Channel> {
        ComplaintsServiceClient::new(self.complaints.channel())
    }
}
