//! The repairs tests' harness: a world with `repairs` running in-process on its own
//! schema, and tokens to call it with. Peers join through `testkit::start_peers` once
//! repairs calls any.

#![allow(dead_code)]

use aftersales_proto::aftersales::repairs::v1::repairs_service_client::RepairsServiceClient;
use kit::auth::Role;
use testkit::{Running, World, peer};
use tonic::transport::Channel;

/// The running world.
pub struct Harness {
    pub world: World,
    pub repairs: Running,
    pub agent: String,
}

impl Harness {
    /// Starts repairs with `env`.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        let [repairs] = world
            .start_peers([peer("repairs", repairs::SPEC, repairs::setup)])
            .await;
        let agent = world.token(Role::Agent, "agent-7");
        Self {
            world,
            repairs,
            agent,
        }
    }

    /// A client of repairs.
    pub fn client(&self) -> RepairsServiceClient<Channel> {
        RepairsServiceClient::new(self.repairs.channel())
    }
}
