//! The transactional outbox end to end (DESIGN §1): an event committed with its row reaches
//! a Redis Streams consumer group even when the relay was down at commit time and only a
//! restarted relay delivers it; an event written in a rolled-back transaction never does.

use crate::demo;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use aftersales_proto::aftersales::returns::v1::ReturnRequested;
use kit::{
    auth::Tokens,
    client::Peers,
    events::{Subscription, consume},
    outbox::{self, Dispatcher},
};
use sqlx::PgPool;
use testkit::{World, eventually};
use tokio_util::sync::CancellationToken;

async fn write_case(pool: &PgPool, buyer: &str, commit: bool) -> String {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO demo_cases (buyer_id, merchant_id, order_id, quantity) VALUES ($1, 'm1', 'o1', 1)")
        .bind(buyer)
        .execute(&mut *tx)
        .await
        .unwrap();
    let event = ReturnRequested {
        quantity: 1,
        ..Default::default()
    };
    let id = outbox::publish_event(&mut tx, "kitdemo", "kitdemo", "returns/x", &event)
        .await
        .unwrap();
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    id.to_string()
}

#[tokio::test]
async fn committed_events_survive_a_relay_restart_and_rolled_back_ones_never_leave() {
    let world = World::new();
    let cfg = Arc::new(world.config(&demo::SPEC));
    let pool = world.migrated_pool(&demo::SPEC).await;
    let redis = redis::Client::open(cfg.redis_url.as_str()).unwrap();
    let peers = Peers::new(cfg.clone(), Tokens::new(testkit::JWT_SECRET, "aftersales"));
    let relay = || {
        Dispatcher::new(
            pool.clone(),
            &cfg.database_schema,
            redis.clone(),
            &cfg.redis_prefix,
            peers.clone(),
            Duration::from_millis(200),
            Duration::from_secs(3600),
        )
    };

    // A consumer group reading the stream, as another service would.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop_consumer = CancellationToken::new();
    let consumer = tokio::spawn({
        let seen = seen.clone();
        let sub = Subscription {
            prefix: cfg.redis_prefix.clone(),
            topics: vec!["kitdemo".into()],
            group: "tester".into(),
            consumer: "c1".into(),
            reclaim_after: Duration::from_secs(5),
        };
        consume(redis.clone(), sub, stop_consumer.clone(), move |env| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((env.id.clone(), env.r#type.clone()));
                Ok(())
            }
        })
    });
    let ids_seen = |seen: &Arc<Mutex<Vec<(String, String)>>>| -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    };

    // Relay 1 delivers the first event.
    let stop1 = CancellationToken::new();
    let relay1 = tokio::spawn(relay().run(stop1.clone()));
    let first = write_case(&pool, "alice", true).await;
    eventually(Duration::from_secs(10), || {
        let got = ids_seen(&seen).contains(&first);
        async move { got }
    })
    .await;

    // The relay dies; meanwhile one change commits and one rolls back.
    stop1.cancel();
    relay1.await.unwrap();
    let second = write_case(&pool, "bob", true).await;
    let rolled_back = write_case(&pool, "carol", false).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !ids_seen(&seen).contains(&second),
        "nothing delivers while the relay is down"
    );

    // A new relay (a restart, or another replica) picks the committed event up.
    let stop2 = CancellationToken::new();
    let relay2 = tokio::spawn(relay().run(stop2.clone()));
    eventually(Duration::from_secs(10), || {
        let got = ids_seen(&seen).contains(&second);
        async move { got }
    })
    .await;

    // Let the system settle, then check the whole history.
    eventually(Duration::from_secs(10), || {
        let pool = pool.clone();
        async move {
            let (pending,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pending == 0
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = ids_seen(&seen);
    assert!(
        !got.contains(&rolled_back),
        "a rolled-back event must never be published"
    );
    let unique: BTreeSet<_> = got.iter().collect();
    assert_eq!(unique.len(), 2, "{got:?}");
    assert_eq!(
        got.len(),
        2,
        "each committed event delivered once here: {got:?}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(_, t)| t == "aftersales.returns.v1.ReturnRequested")
    );
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 2, "the rolled-back transaction left no outbox row");

    stop2.cancel();
    relay2.await.unwrap();
    stop_consumer.cancel();
    consumer.await.unwrap();
}

#[tokio::test]
async fn streams_refill_from_the_outbox_after_redis_loses_them() {
    let world = World::new();
    let cfg = Arc::new(world.config(&demo::SPEC));
    let pool = world.migrated_pool(&demo::SPEC).await;
    let redis = redis::Client::open(cfg.redis_url.as_str()).unwrap();
    let peers = Peers::new(cfg.clone(), Tokens::new(testkit::JWT_SECRET, "aftersales"));
    let relay = Dispatcher::new(
        pool.clone(),
        &cfg.database_schema,
        redis.clone(),
        &cfg.redis_prefix,
        peers,
        Duration::from_millis(200),
        Duration::from_secs(3600),
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(relay.run(stop.clone()));
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    for i in 0..3 {
        write_case(&pool, &format!("b{i}"), true).await;
    }
    let key = outbox::stream_key(&cfg.redis_prefix, "kitdemo");
    let mut conn = testkit::redis().await;
    let len = |mut c: redis::aio::MultiplexedConnection, key: String| async move {
        redis::cmd("XLEN")
            .arg(&key)
            .query_async::<i64>(&mut c)
            .await
            .unwrap()
    };
    eventually(Duration::from_secs(10), || {
        len(conn.clone(), key.clone()).map_eq(3)
    })
    .await;

    // Redis loses the stream (our prefix only: other tests share this server).
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len(conn.clone(), key.clone()).await, 0);
    let requeued = outbox::refill_streams(&pool, before).await.unwrap();
    assert_eq!(requeued, 3);
    eventually(Duration::from_secs(10), || {
        len(conn.clone(), key.clone()).map_eq(3)
    })
    .await;
    stop.cancel();
    task.await.unwrap();
}

/// `future.map_eq(n)`: resolves to whether the future's output equals `n`.
trait MapEq: std::future::Future<Output = i64> + Sized {
    fn map_eq(self, n: i64) -> impl std::future::Future<Output = bool> {
        async move { self.await == n }
    }
}
impl<F: std::future::Future<Output = i64>> MapEq for F {}

/// Delivered rows stay for the retention (a week by default), so a busy service holds
/// millions; the claim must go straight to the undelivered ones, not walk past those.
/// (With a backlog of pending rows, the planner walked the primary key from the start.)
#[tokio::test]
async fn the_claim_does_not_walk_past_delivered_rows() {
    let world = World::new();
    world.migrated_pool(&demo::SPEC).await;
    // The kit's DDL runs at every start: a second run changes nothing and keeps the room
    // on each page that makes the claim's update HOT.
    let pool = world.migrated_pool(&demo::SPEC).await;
    let options: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(reloptions) FROM pg_class WHERE oid = 'outbox'::regclass",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(options, ["fillfactor=50"]);
    sqlx::query(
        "INSERT INTO outbox (kind, topic, key, payload, delivered_at)
         SELECT 'event', 't', 'old-' || g, '\\x', now() FROM generate_series(1, 20000) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (kind, topic, key, payload)
         SELECT 'event', 't', 'new-' || g, '\\x' FROM generate_series(1, 1000) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE outbox").execute(&pool).await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    let plan: serde_json::Value =
        sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", outbox::CLAIM))
            .bind(200_i64)
            .bind(30.0_f64)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();

    fn removed(node: &serde_json::Value) -> u64 {
        node["Rows Removed by Filter"].as_u64().unwrap_or(0)
            + node["Plans"]
                .as_array()
                .map_or(0, |plans| plans.iter().map(removed).sum())
    }
    let root = &plan[0]["Plan"];
    assert_eq!(
        root["Plans"][0]["Actual Rows"], 200,
        "claims a batch: {plan}"
    );
    assert!(
        removed(root) < 100,
        "the claim read {} rows it did not want: {plan}",
        removed(root)
    );
}
