//! Commands leave through the outbox (DESIGN §1): a command written while its target is
//! down is retried with backoff and applied exactly once when the target comes up; the same
//! idempotency key is never queued twice; a command the target rejects as invalid is
//! parked as dead instead of retried forever.

use std::{sync::Arc, time::Duration};

use aftersales_proto::aftersales::{
    common::v1::{Actor, ActorRole},
    platform::v1::{
        ListNotificationsRequest, SendRequest, sandbox_control_client::SandboxControlClient,
    },
};
use kit::{
    ServiceSpec,
    auth::{Role, Tokens},
    client::Peers,
    outbox::{self, Dispatcher},
};
use sqlx::PgPool;
use testkit::{World, authed, eventually};
use tokio_util::sync::CancellationToken;

const SEND: &str = "/aftersales.platform.v1.Notifier/Send";

/// A stand-in owner of an outbox: only the kit's tables. It goes by `returns`, one of
/// the services the sandbox's Notifier admits (its schema is this world's own).
const OWNER: ServiceSpec = ServiceSpec {
    name: "returns",
    default_port: 50098,
    grpc_services: &[],
    migrator: None,
    access: &[],
};

fn notify(key: &str, template: &str) -> SendRequest {
    SendRequest {
        notification_id: outbox::request_id_for(key),
        recipient: Some(Actor {
            role: ActorRole::Buyer as i32,
            id: "buyer-1".into(),
        }),
        template: template.into(),
        ..Default::default()
    }
}

async fn outbox_row(pool: &PgPool, key: &str) -> (i32, bool, bool) {
    sqlx::query_as(
        "SELECT attempts, delivered_at IS NOT NULL, dead_at IS NOT NULL FROM outbox WHERE key = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_command_to_a_down_service_is_delivered_once_it_is_up() {
    let mut world = World::new();
    // Reserve the sandbox's port now; it starts only later.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    world.set("PLATFORM_URL", url.clone());

    let cfg = Arc::new(world.config(&OWNER));
    let pool = kit::db::pool(&cfg).unwrap();
    kit::db::migrate(pool.clone(), cfg.database_schema.clone(), None)
        .await
        .unwrap();
    let peers = Peers::new(cfg.clone(), Tokens::new(testkit::JWT_SECRET, "aftersales"));
    let stop = CancellationToken::new();
    let relay = tokio::spawn(
        Dispatcher::new(
            pool.clone(),
            &cfg.database_schema,
            redis::Client::open(cfg.redis_url.as_str()).unwrap(),
            &cfg.redis_prefix,
            peers,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )
        .run(stop.clone()),
    );

    let key = "returns/1:notify:approved";
    let mut tx = pool.begin().await.unwrap();
    assert!(
        outbox::send_command(
            &mut tx,
            "platform",
            SEND,
            key,
            &notify(key, "return_approved")
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    // The same effect queued again (a retried handler) is ignored.
    let mut tx = pool.begin().await.unwrap();
    assert!(
        !outbox::send_command(
            &mut tx,
            "platform",
            SEND,
            key,
            &notify(key, "return_approved")
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();

    // The target is down: the first attempt fails and is scheduled for a retry.
    eventually(Duration::from_secs(10), || {
        let pool = pool.clone();
        async move {
            let (attempts, delivered, dead) = outbox_row(&pool, key).await;
            attempts >= 1 && !delivered && !dead
        }
    })
    .await;

    // The sandbox comes up on the reserved address; the retry delivers.
    let listener = tokio::net::TcpListener::bind(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let sandbox_cfg = world.config(&platform_sandbox::SPEC);
    let sandbox = world.start_on(
        listener,
        platform_sandbox::SPEC,
        sandbox_cfg,
        platform_sandbox::setup,
    );
    sandbox.wait_serving().await;
    eventually(Duration::from_secs(15), || {
        let pool = pool.clone();
        async move { outbox_row(&pool, key).await.1 }
    })
    .await;

    // A command the target refuses as invalid is parked, not retried forever.
    let bad_key = "returns/1:notify:broken";
    let mut tx = pool.begin().await.unwrap();
    outbox::send_command(&mut tx, "platform", SEND, bad_key, &notify(bad_key, ""))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    eventually(Duration::from_secs(10), || {
        let pool = pool.clone();
        async move { outbox_row(&pool, bad_key).await.2 }
    })
    .await;

    let token = world.token(Role::Agent, "tester");
    let sent = SandboxControlClient::new(sandbox.channel())
        .list_notifications(authed(ListNotificationsRequest::default(), &token))
        .await
        .unwrap()
        .into_inner()
        .notifications;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].notification_id, outbox::request_id_for(key));

    stop.cancel();
    relay.await.unwrap();
    sandbox.stop().await;
}
