//! A named constraint's violation becomes the caller's domain error at the query
//! (`kit::db::ResultExt`), and every other database error passes through untouched.

use kit::db::ResultExt;
use testkit::World;

#[derive(Debug, PartialEq)]
enum Refusal {
    Duplicate,
    Negative,
    Db(String),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.to_string())
    }
}

#[tokio::test]
async fn a_named_constraint_becomes_the_domain_error_and_others_pass_through() {
    let world = World::new();
    let pool = testkit::pool().await;
    let schema = world.schema("constraints");
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.t (
             k int CONSTRAINT t_k_unique UNIQUE,
             n int CONSTRAINT t_n_positive CHECK (n > 0))"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let sql = format!("INSERT INTO {schema}.t VALUES ($1, $2)");
    let insert = |k: i32, n: i32| sqlx::query(&sql).bind(k).bind(n).execute(&pool);
    insert(1, 1).await.unwrap();

    let dup = insert(1, 1)
        .await
        .on_constraint("t_k_unique", || Refusal::Duplicate);
    assert_eq!(dup.unwrap_err(), Refusal::Duplicate);

    let classify = |c: &str| match c {
        "t_k_unique" => Some(Refusal::Duplicate),
        "t_n_positive" => Some(Refusal::Negative),
        _ => None,
    };
    let neg = insert(2, -1).await.on_constraints(classify);
    assert_eq!(neg.unwrap_err(), Refusal::Negative);

    // Another constraint than the one named stays a database error.
    let other = insert(3, -1)
        .await
        .on_constraint("t_k_unique", || Refusal::Duplicate);
    assert!(matches!(other, Err(Refusal::Db(m)) if m.contains("t_n_positive")));

    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
