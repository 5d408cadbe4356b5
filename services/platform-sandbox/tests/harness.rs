//! The sandbox tests' harness: the sandbox alone in a world of its own, reached as the
//! `platform` peer like every service reaches it.

use testkit::{Running, World, peer};

/// A world with the sandbox serving in it.
pub async fn start() -> (World, Running) {
    let mut world = World::new();
    let [svc] = world
        .start_peers([peer(
            "platform",
            platform_sandbox::SPEC,
            platform_sandbox::setup,
        )])
        .await;
    (world, svc)
}
