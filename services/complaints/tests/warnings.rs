//! Early warning through the running service: a (category, region) whose tickets held a
//! steady few a day for four weeks surges today and raises exactly one warning, however
//! many more complaints follow; a steady key raises none. (The statistic itself is tested
//! on fixed synthetic series in `rules::surge`: flat noise, a 4x day, weekly peaks, no
//! repeat while a surge lasts.)

use std::time::Duration;

use crate::harness::{Suite, complaint, order};
use aftersales_proto::aftersales::complaints::v1::ListEarlyWarningsRequest;
use testkit::authed;

/// `per_day` tickets of `category` in CN-11 on each of the 28 days before today.
async fn history(s: &Suite, category: &str, per_day: i32) {
    let schema = s.world.schema("complaints");
    let sql = format!(
        "INSERT INTO {schema}.complaints (id, number, state, buyer_id, merchant_id, order_id,
             priority, channel, category, region, create_time, update_time, ticket)
         SELECT gen_random_uuid(), 'HIST-' || gen_random_uuid(), 8, 'buyer-1', 'merchant-1',
             'old', 2, 2, $1, 'CN-11', t, t, '{{}}'::jsonb
         FROM generate_series(1, 28) AS d, generate_series(1, $2) AS k,
              LATERAL (SELECT now() - d * interval '1 day' AS t) AS x"
    );
    sqlx::query(&sql)
        .bind(category)
        .bind(per_day)
        .execute(&testkit::pool().await)
        .await
        .unwrap();
}

async fn file(s: &Suite, order: &str, category: &str, n: usize) {
    for _ in 0..n {
        let mut req = complaint(order);
        req.category = category.into();
        s.client()
            .create_complaint(authed(req, &s.buyer))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_surge_against_four_steady_weeks_raises_one_warning() {
    let s = Suite::start(&[]).await;
    let mut o = order("north-1", 5_000, "CN-11");
    o.region = "CN-11".into();
    s.platform.put_order(o).await;
    history(&s, "toys", 3).await;
    history(&s, "books", 6).await;
    // books as usual, toys four and more times their baseline
    file(&s, "north-1", "books", 6).await;
    file(&s, "north-1", "toys", 16).await;
    let warnings = |category: &'static str| {
        let mut c = s.client();
        let token = s.agent.clone();
        async move {
            c.list_early_warnings(authed(
                ListEarlyWarningsRequest {
                    category: category.into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .early_warnings
        }
    };
    testkit::eventually(Duration::from_secs(20), || async {
        !warnings("toys").await.is_empty()
    })
    .await;
    // more of the same surge: no repeat
    file(&s, "north-1", "toys", 6).await;
    testkit::eventually(Duration::from_secs(20), || async {
        s.scalar("SELECT today::int8 FROM {s}.surge_keys WHERE category = 'toys'")
            .await
            == 22
    })
    .await;
    let raised = warnings("toys").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    let w = &raised[0];
    assert_eq!(w.region, "CN-11");
    assert!(w.baseline > 2.0 && w.baseline < 4.0, "{w:?}");
    assert!(w.count >= 5 && w.ratio > 2.0, "{w:?}");
    testkit::eventually(Duration::from_secs(10), || async {
        s.scalar("SELECT today::int8 FROM {s}.surge_keys WHERE category = 'books'")
            .await
            == 6
    })
    .await;
    assert!(
        warnings("books").await.is_empty(),
        "a steady key raises nothing"
    );
    testkit::eventually(Duration::from_secs(10), || async {
        testkit::published(&s.world, "complaints")
            .await
            .iter()
            .any(|e| e.r#type == "aftersales.complaints.v1.EarlyWarningRaised")
    })
    .await;
    assert_eq!(
        testkit::published(&s.world, "complaints")
            .await
            .iter()
            .filter(|e| e.r#type == "aftersales.complaints.v1.EarlyWarningRaised")
            .count(),
        1,
        "one EarlyWarningRaised"
    );
}
