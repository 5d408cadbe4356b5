//! The database pool skips sqlx's ping before every query; what it must still do is notice
//! a connection that died while idle (a Postgres restart, a terminated backend) and hand
//! out a live one instead of failing the caller's query.

use crate::demo;

use kit::db::{PING_AFTER_IDLE, pool};
use testkit::World;

#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_not_handed_out() {
    let world = World::new();
    let mut cfg = world.config(&demo::SPEC);
    // One connection, so that the next query can only get the one terminated below.
    cfg.database_max_connections = 1;
    let pool = pool(&cfg).unwrap();
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();

    // Back in the pool (sqlx checks a released connection in a task of its own) before it
    // is killed, so that only the check on the way out of the pool can notice.
    testkit::eventually(std::time::Duration::from_secs(5), || {
        let idle = pool.num_idle();
        async move { idle == 1 }
    })
    .await;
    let admin = sqlx::PgPool::connect(&testkit::database_url())
        .await
        .unwrap();
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(killed, "the pooled backend was terminated");

    tokio::time::sleep(PING_AFTER_IDLE + std::time::Duration::from_millis(200)).await;
    let second: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("the dead connection is detected by its ping and replaced");
    assert_ne!(first, second, "a new backend serves the query");
}
