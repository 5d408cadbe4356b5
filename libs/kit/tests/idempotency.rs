//! Idempotency answers are kept for the retention only (issue 23, PIPL): the purge drops
//! an answer past it and keeps a tombstone (key and request hash, no content); a replay
//! then is refused ALREADY_EXISTS, or is a new request where the caller claimed it as
//! renewable; the same id with another payload is still refused; young rows and rows in
//! flight are left alone.

use std::time::Duration;

use aftersales_proto::aftersales::common::v1::Money;
use kit::{
    Error,
    idempotency::{self, Claim},
};
use sqlx::PgPool;
use testkit::World;

use crate::demo;

fn request(minor: i64) -> Money {
    Money {
        amount_minor: minor,
        currency: "CNY".into(),
    }
}

/// Claims (renewable or not) and, when fresh, completes with `answer`, committing.
async fn call(pool: &PgPool, id: &str, req: &Money, renewable: bool) -> Result<Claim, Error> {
    let mut tx = pool.begin().await.unwrap();
    let claim = if renewable {
        idempotency::claim_renewable(&mut tx, "buyer:b-1", "Create", id, req).await
    } else {
        idempotency::claim(&mut tx, "buyer:b-1", "Create", id, req).await
    }?;
    if matches!(claim, Claim::Fresh) {
        let answer = request(req.amount_minor * 10);
        idempotency::complete(&mut tx, "buyer:b-1", "Create", id, &answer)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    Ok(claim)
}

async fn row(pool: &PgPool, id: &str) -> (bool, bool, bool) {
    sqlx::query_as(
        "SELECT response IS NOT NULL, request_hash IS NOT NULL, expired_at IS NOT NULL
         FROM idempotency WHERE request_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn age(pool: &PgPool, id: &str, by: &str) {
    sqlx::query(&format!(
        "UPDATE idempotency SET created_at = created_at - interval '{by}' WHERE request_id = $1"
    ))
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn an_answer_past_its_retention_is_gone_and_its_replay_refused_or_renewed() {
    let world = World::new();
    let pool = world.migrated_pool(&demo::SPEC).await;
    let week = idempotency::DEFAULT_RETENTION;
    let (old, young, renewable) = ("req-old", "req-young", "req-renewable");
    for id in [old, young, renewable] {
        assert!(matches!(
            call(&pool, id, &request(5), false).await.unwrap(),
            Claim::Fresh
        ));
    }
    // Within the retention a replay answers the stored answer.
    let Claim::Replay(bytes) = call(&pool, old, &request(5), false).await.unwrap() else {
        panic!("a replay within the retention answers")
    };
    assert_eq!(
        idempotency::decode_replay::<Money>(&bytes).unwrap(),
        request(50)
    );

    // Eight days later, two of them are past a week; one claimed six days ago is not.
    age(&pool, old, "8 days").await;
    age(&pool, renewable, "8 days").await;
    age(&pool, young, "6 days").await;
    assert_eq!(idempotency::purge(&pool, week).await.unwrap(), 2);
    assert_eq!(
        row(&pool, old).await,
        (false, true, true),
        "the answer is gone; the tombstone keeps the hash"
    );
    assert_eq!(row(&pool, young).await, (true, true, false), "kept");
    assert_eq!(
        idempotency::purge(&pool, week).await.unwrap(),
        0,
        "a tombstone is not purged twice"
    );

    // A replay of what must not run twice is refused, saying why.
    let err = call(&pool, old, &request(5), false).await.unwrap_err();
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    assert!(
        status.message().contains("answer is no longer kept")
            && status.message().contains("use a new request_id"),
        "{}",
        status.message()
    );
    // The same id with another payload is refused as before.
    let err = call(&pool, old, &request(6), false).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");

    // A renewable claim treats the replay as new, once: then it is live again.
    assert!(matches!(
        call(&pool, renewable, &request(5), true).await.unwrap(),
        Claim::Fresh
    ));
    assert_eq!(row(&pool, renewable).await, (true, true, false));
    assert!(matches!(
        call(&pool, renewable, &request(5), true).await.unwrap(),
        Claim::Replay(_)
    ));
    let err = call(&pool, renewable, &request(6), true).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(_)),
        "another payload under a renewed id: {err:?}"
    );
}

#[tokio::test]
async fn the_purge_never_touches_a_claim_in_flight_and_runs_in_the_background() {
    let world = World::new();
    let pool = world.migrated_pool(&demo::SPEC).await;
    // A claim whose transaction is still open (and, here, old) is out of the purge's
    // reach: uncommitted, and then locked by its transaction.
    let mut open = pool.begin().await.unwrap();
    idempotency::claim(&mut open, "buyer:b-1", "Create", "in-flight", &request(1))
        .await
        .unwrap();
    sqlx::query("UPDATE idempotency SET created_at = now() - interval '30 days'")
        .execute(&mut *open)
        .await
        .unwrap();
    assert_eq!(
        idempotency::purge(&pool, Duration::from_secs(1))
            .await
            .unwrap(),
        0
    );
    open.commit().await.unwrap();

    // The background loop purges on its own, a tenth of the retention apart (at least a
    // second), and stops at shutdown.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(idempotency::purge_loop(
        pool.clone(),
        Duration::from_secs(1),
        shutdown.clone(),
    ));
    let p = pool.clone();
    testkit::eventually(Duration::from_secs(10), || {
        let p = p.clone();
        async move { row(&p, "in-flight").await.2 }
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop obeys shutdown")
        .unwrap();
}
