//! Minimum necessary (PIPL, issue 23): a CreateReturn answer holds the buyer's own words;
//! the kit's purge, which every service with a database runs, drops it past
//! `IDEMPOTENCY_RETENTION` and a replay of its `request_id` is refused, never filed twice.

use std::time::Duration;

use crate::harness::{Suite, request};
use aftersales_proto::aftersales::returns::v1::{ReturnKind, ReturnReason};
use testkit::{authed, eventually};
use tonic::Code;

#[tokio::test]
async fn a_returns_answer_past_its_retention_is_gone_and_its_replay_refused() {
    let s = Suite::start(&[("IDEMPOTENCY_RETENTION", "3s")]).await;
    let req = request(ReturnKind::ReturnRefund, "demo-1", ReturnReason::NoReason);
    s.client()
        .create_return(authed(req.clone(), &s.buyer))
        .await
        .unwrap();
    let kept = "SELECT count(*) FROM {s}.idempotency
                WHERE method LIKE '%CreateReturn' AND response IS NOT NULL
                  AND position('seam is torn'::bytea IN response) > 0";
    assert_eq!(
        s.scalar(kept).await,
        1,
        "the answer, with the buyer's words in it, is kept for replays at first"
    );
    eventually(Duration::from_secs(10), || async {
        s.scalar(
            "SELECT count(*) FROM {s}.idempotency
             WHERE method LIKE '%CreateReturn' AND expired_at IS NOT NULL AND response IS NULL",
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        s.scalar(
            "SELECT count(*) FROM {s}.idempotency
             WHERE position('seam is torn'::bytea IN response) > 0"
        )
        .await,
        0,
        "the buyer's description is in no kept answer"
    );
    let err = s
        .client()
        .create_return(authed(req, &s.buyer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(
        err.message().contains("no longer kept"),
        "{}",
        err.message()
    );
    assert_eq!(
        s.scalar("SELECT count(*) FROM {s}.returns").await,
        1,
        "the replay filed nothing"
    );
}
