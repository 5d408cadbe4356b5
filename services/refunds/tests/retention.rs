//! Idempotency answers are kept for `IDEMPOTENCY_RETENTION` only (issue 23): a refund's
//! answer holds the buyer's payment reference. Past it the answer is gone, and replaying
//! the request is refused (a refund is not naturally idempotent: doing it again would pay
//! twice), while a new request id is a new refund as ever.

use std::time::Duration;

use crate::harness::{Harness, goods};
use testkit::{authed, eventually};
use tonic::Code;

#[tokio::test]
async fn a_refunds_answer_past_its_retention_is_gone_and_its_replay_refused() {
    let h = Harness::start(&[("IDEMPOTENCY_RETENTION", "3s")]).await;
    let req = goods("returns/r-1", 5_000);
    let first = h
        .client()
        .create_refund(authed(req.clone(), &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.idempotency WHERE response IS NOT NULL")
            .await,
        1,
        "the answer is kept for replays at first"
    );
    eventually(Duration::from_secs(10), || async {
        h.scalar("SELECT count(*) FROM {s}.idempotency WHERE expired_at IS NOT NULL")
            .await
            == 1
    })
    .await;
    assert_eq!(
        h.scalar(
            "SELECT count(*) FROM {s}.idempotency
             WHERE response IS NULL AND length(request_hash) = 32"
        )
        .await,
        1,
        "the answer (and the payment reference in it) is gone; a tombstone stays"
    );

    let err = h
        .client()
        .create_refund(authed(req.clone(), &h.service))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert!(
        err.message().contains("no longer kept"),
        "{}",
        err.message()
    );
    assert_eq!(
        h.scalar("SELECT count(*) FROM {s}.refunds").await,
        1,
        "nothing paid twice"
    );
    // A new request is a new refund.
    let again = goods("returns/r-1", 5_000);
    let second = h
        .client()
        .create_refund(authed(again, &h.service))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(second.name, first.name);
}
