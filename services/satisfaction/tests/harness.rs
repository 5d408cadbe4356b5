//! The satisfaction tests' harness: a world with `satisfaction` running in-process on its own
//! schema, and tokens to call it with. Peers join through `testkit::start_peers` once
//! satisfaction calls any.

#![allow(dead_code)]

use aftersales_proto::aftersales::satisfaction::v1::satisfaction_service_client::SatisfactionServiceClient;
use kit::auth::Role;
use testkit::{Running, World, peer};
use tonic::transport::Channel;

/// The running world.
pub struct Harness {
    pub world: World,
    pub satisfaction: Running,
    pub agent: String,
}

impl Harness {
    /// Starts satisfaction with `env`.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let mut world = World::new();
        for (k, v) in env {
            world.set(k, *v);
        }
        let [satisfaction] = world
            .start_peers([peer(
                "satisfaction",
                satisfaction::SPEC,
                satisfaction::setup,
            )])
            .await;
        let agent = world.token(Role::Agent, "agent-7");
        Self {
            world,
            satisfaction,
            agent,
        }
    }

    /// A client of satisfaction.
    pub fn client(&self) -> SatisfactionServiceClient<Channel> {
        SatisfactionServiceClient::new(self.satisfaction.channel())
    }
}
