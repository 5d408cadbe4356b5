//! The Redis schedule on its own (real Redis): a new timer's add that arrives late, after
//! its event was claimed or delivered, must not bring the event back for a second
//! delivery; a replay, which re-adds a delivered event on purpose, must.

use sla::schedule::{Keys, Schedule};

async fn schedule() -> (Schedule, redis::aio::ConnectionManager, Keys) {
    let prefix = format!("t{}:", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let client = redis::Client::open(testkit::redis_url()).unwrap();
    let c = redis::aio::ConnectionManager::new(client).await.unwrap();
    (
        Schedule::new(Keys::new(&prefix), 30_000),
        c,
        Keys::new(&prefix),
    )
}

async fn due_score(c: &mut redis::aio::ConnectionManager, keys: &Keys, m: &str) -> Option<i64> {
    redis::cmd("ZSCORE")
        .arg(keys.due(0))
        .arg(m)
        .query_async(c)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_late_add_does_not_bring_back_a_claimed_or_completed_event_nor_move_a_due_one() {
    let (s, mut c, keys) = schedule().await;
    let ev = |m: &str, at: i64| (0u32, m.to_string(), at);

    s.add_new(&mut c, &[ev("a", 1_000), ev("b", 1_000)])
        .await
        .unwrap();
    assert_eq!(due_score(&mut c, &keys, "a").await, Some(1_000));

    // "a" is claimed (a replica is delivering it); "b" is claimed and completed.
    let claimed = s.claim(&mut c, 0, 2_000, 2_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    s.complete(&mut c, 0, &["b".to_string()]).await.unwrap();

    // The late adds of both, and a second add of a due event at another time.
    s.add_new(&mut c, &[ev("a", 1_000), ev("b", 1_000), ev("c", 5_000)])
        .await
        .unwrap();
    s.add_new(&mut c, &[ev("c", 9_000)]).await.unwrap();
    assert_eq!(
        due_score(&mut c, &keys, "a").await,
        None,
        "claimed: not due again"
    );
    assert_eq!(
        due_score(&mut c, &keys, "b").await,
        None,
        "completed: not due again"
    );
    assert_eq!(
        due_score(&mut c, &keys, "c").await,
        Some(5_000),
        "NX: time kept"
    );

    // Redis forgot the script (restart, SCRIPT FLUSH): the add loads it again.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut c)
        .await
        .unwrap();
    s.add_new(&mut c, &[ev("d", 7_000)]).await.unwrap();
    assert_eq!(due_score(&mut c, &keys, "d").await, Some(7_000));

    // A replayed dead letter (same member, completed before) is due again.
    s.add(&mut c, &[ev("b", 3_000)]).await.unwrap();
    assert_eq!(due_score(&mut c, &keys, "b").await, Some(3_000));
}

#[tokio::test]
async fn far_events_go_in_one_add_beside_checked_near_ones() {
    let (s, mut c, keys) = schedule().await;
    let now = chrono::Utc::now().timestamp_millis();
    let ev = |m: &str, at: i64| (0u32, m.to_string(), at);
    let far = now + sla::schedule::ADD_NEW_FAR_MS + 60_000;

    // A near event is claimed and completed (delivered).
    s.add_new(&mut c, &[ev("near", now)]).await.unwrap();
    assert_eq!(s.claim(&mut c, 0, now, now, 10).await.unwrap().len(), 1);
    s.complete(&mut c, 0, &["near".to_string()]).await.unwrap();

    // 1,500 far events (one plain ZADD) in the same call as the late add of
    // the delivered near one, and a far event added twice at different times.
    let mut events: Vec<_> = (0..1500).map(|i| ev(&format!("f{i}"), far + i)).collect();
    events.push(ev("near", now));
    events.push(ev("twice", far));
    s.add_new(&mut c, &events).await.unwrap();
    s.add_new(&mut c, &[ev("twice", far + 5_000)])
        .await
        .unwrap();

    assert_eq!(
        due_score(&mut c, &keys, "near").await,
        None,
        "delivered: not due again"
    );
    assert_eq!(due_score(&mut c, &keys, "f0").await, Some(far));
    assert_eq!(due_score(&mut c, &keys, "f1499").await, Some(far + 1499));
    assert_eq!(
        due_score(&mut c, &keys, "twice").await,
        Some(far),
        "NX: time kept"
    );
    let n: usize = redis::cmd("ZCARD")
        .arg(keys.due(0))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 1501);
}
