//! What every service gets from the kit at its edge, proved over real gRPC, Postgres and
//! Redis: unauthenticated calls refused, foreign resources invisible, bad requests answered
//! with field violations, idempotent replays, and health that turns SERVING only after the
//! migrations ran.

use crate::demo;

use std::time::Duration;

use aftersales_proto::aftersales::returns::v1::{
    CreateReturnRequest, GetReturnRequest, returns_service_client::ReturnsServiceClient,
};
use kit::auth::Role;
use testkit::{World, authed, eventually};
use tonic::Code;
use tonic_types::StatusExt;

fn create(order: &str, qty: u32, request_id: &str) -> CreateReturnRequest {
    CreateReturnRequest {
        order_id: order.into(),
        quantity: qty,
        request_id: request_id.into(),
        ..Default::default()
    }
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn unauthenticated_and_wrong_role_are_refused() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let mut client = ReturnsServiceClient::new(svc.channel());

    let err = client
        .get_return(GetReturnRequest {
            name: "returns/1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let forged = testkit::authed(
        GetReturnRequest {
            name: "returns/1".into(),
        },
        &kit::auth::Tokens::new("not-the-secret-0123456789", "aftersales").mint(
            Role::Buyer,
            "b1",
            None,
            60,
        ),
    );
    assert_eq!(
        client.get_return(forged).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // A merchant may read but not create (the role rule of CreateReturn is buyer only).
    let merchant = world.token(Role::Merchant, "m1");
    let err = client
        .create_return(authed(create("o1", 1, &rid()), &merchant))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    svc.stop().await;
}

#[tokio::test]
async fn a_buyer_cannot_read_another_buyers_case() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let mut client = ReturnsServiceClient::new(svc.channel());
    let alice = world.token(Role::Buyer, "alice");
    let bob = world.token(Role::Buyer, "bob");

    let case = client
        .create_return(authed(create("o1", 1, &rid()), &alice))
        .await
        .unwrap()
        .into_inner();
    let get = |t: &str| {
        authed(
            GetReturnRequest {
                name: case.name.clone(),
            },
            t,
        )
    };

    let mine = client.get_return(get(&alice)).await.unwrap().into_inner();
    assert_eq!(mine.buyer_id, "alice");

    let err = client.get_return(get(&bob)).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "bob must not learn alice's case exists"
    );
    assert!(!err.message().contains("alice"));

    // Her shop sees it; another shop does not; an agent does.
    assert!(
        client
            .get_return(get(&world.token(Role::Merchant, "m1")))
            .await
            .is_ok()
    );
    let err = client
        .get_return(get(&world.token(Role::Merchant, "m2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        client
            .get_return(get(&world.token(Role::Agent, "cs-7")))
            .await
            .is_ok()
    );
    svc.stop().await;
}

#[tokio::test]
async fn bad_requests_get_every_field_violation() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let mut client = ReturnsServiceClient::new(svc.channel());
    let alice = world.token(Role::Buyer, "alice");

    let err = client
        .create_return(authed(create("", 0, "not-a-uuid"), &alice))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_error_details();
    let mut fields: Vec<String> = details
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    fields.sort();
    assert_eq!(fields, ["order_id", "quantity", "request_id"]);
    assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");

    // Nothing was written.
    let pool = testkit::pool().await;
    let (n,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM {}.demo_cases",
        world.schema("kitdemo")
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 0);
    svc.stop().await;
}

#[tokio::test]
async fn request_id_replays_and_races_to_one_write() {
    let world = World::new();
    let svc = world.start(demo::SPEC, demo::setup).await;
    svc.wait_serving().await;
    let alice = world.token(Role::Buyer, "alice");
    let id = rid();

    // 20 concurrent identical requests (double clicks, client retries).
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut c = ReturnsServiceClient::new(svc.channel());
        let req = authed(create("o9", 2, &id), &alice);
        set.spawn(async move { c.create_return(req).await });
    }
    let mut names = Vec::new();
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(resp) => names.push(resp.into_inner().name),
            // A duplicate that arrives while the first is mid-transaction is told to retry.
            Err(s) => assert_eq!(s.code(), Code::Aborted, "{s:?}"),
        }
    }
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n == &names[0]), "{names:?}");

    let mut client = ReturnsServiceClient::new(svc.channel());
    let again = client
        .create_return(authed(create("o9", 2, &id), &alice))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, names[0]);

    let err = client
        .create_return(authed(create("o9", 3, &id), &alice))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "request_id"
    );

    let pool = testkit::pool().await;
    let (n,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM {}.demo_cases",
        world.schema("kitdemo")
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 1, "one write however many times the request arrived");
    svc.stop().await;
}

#[tokio::test]
async fn health_is_serving_only_after_migrations() {
    let world = World::new();
    let schema = world.schema("kitdemo");
    // Hold the migration lock, as a slow migration on another replica would.
    let pool = testkit::pool().await;
    let mut blocker = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(kit::db::migration_lock_key(&schema))
        .execute(&mut *blocker)
        .await
        .unwrap();

    let svc = world.start(demo::SPEC, demo::setup).await;
    let url = svc.url();
    // The server answers health at once, but NOT_SERVING, and refuses domain calls.
    eventually(Duration::from_secs(10), || {
        let url = url.clone();
        async move { kit::server::check_health(&url, "").await.is_ok() }
    })
    .await;
    for _ in 0..5 {
        assert!(!kit::server::check_health(&url, "").await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut client = ReturnsServiceClient::new(svc.channel());
    let alice = world.token(Role::Buyer, "alice");
    let err = client
        .create_return(authed(create("o1", 1, &rid()), &alice))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let (exists,): (bool,) = sqlx::query_as("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("{schema}.demo_cases"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!exists, "migrations must still be waiting");

    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(kit::db::migration_lock_key(&schema))
        .execute(&mut *blocker)
        .await
        .unwrap();
    svc.wait_serving().await;
    let (exists,): (bool,) = sqlx::query_as("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("{schema}.demo_cases"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(exists);
    assert!(
        client
            .create_return(authed(create("o1", 1, &rid()), &alice))
            .await
            .is_ok()
    );
    svc.stop().await;
}
