//! Idempotent writes by `request_id`: a replay returns the first answer, the same id with a
//! different payload is refused. The claim row is inserted inside the write's own
//! transaction, so a concurrent duplicate waits on the unique key until the first commits
//! (then replays its answer) or rolls back (then proceeds as the first).
//!
//! Answers are kept for a retention only (`IDEMPOTENCY_RETENTION`, 7 days by default:
//! they hold buyers' descriptions and payment references; PIPL's minimum necessary). The
//! background [`purge_loop`] then drops the answer and keeps a tombstone: the key and the
//! request's hash, no request or response content. [`claim`] refuses a replay past the
//! retention with ALREADY_EXISTS "... its answer is no longer kept" (the request was
//! applied, so an outbox dispatcher counts that answer as delivered): doing it again could
//! do it twice (a second refund). Only an operation idempotent by nature (registering a
//! parcel, keyed by the parcel itself) claims with [`claim_renewable`], which treats such
//! a replay as a new request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{Config, ConfigError},
    error::Error,
};

/// The table, created in every service schema by `kit::db` (idempotent DDL, like the
/// outbox's). `expired_at` marks a tombstone: the answer was dropped at the retention.
pub(crate) const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS idempotency (
    caller        text NOT NULL,
    method        text NOT NULL,
    request_id    text NOT NULL,
    request_hash  bytea NOT NULL,
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_pk PRIMARY KEY (caller, method, request_id)
);
-- Added with the retention (issue 23); looked up first, so a start takes no table lock.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'idempotency'::regclass
                   AND attname = 'expired_at' AND NOT attisdropped) THEN
        ALTER TABLE idempotency ADD COLUMN expired_at timestamptz;
    END IF;
END $$;
-- The purge walks the live rows by age; tombstones stay out of the index.
CREATE INDEX IF NOT EXISTS idempotency_live_by_age ON idempotency (created_at)
    WHERE expired_at IS NULL;
"#;

/// How long answers are kept when `IDEMPOTENCY_RETENTION` is not set.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// `IDEMPOTENCY_RETENTION` (`7d` by default): how long a request's answer is kept for
/// replays. Positive: an answer dropped at once would turn every retry into a refusal.
pub fn retention(cfg: &Config) -> Result<Duration, ConfigError> {
    const NAME: &str = "IDEMPOTENCY_RETENTION";
    let d = cfg.env().duration_or(NAME, DEFAULT_RETENTION)?;
    if d.is_zero() {
        return Err(ConfigError::Invalid {
            name: NAME.into(),
            value: cfg.env().get(NAME).unwrap_or_default().to_string(),
            reason: "must be positive".into(),
        });
    }
    Ok(d)
}

/// What to do with a request.
#[derive(Debug)]
pub enum Claim {
    /// First time this id is seen: do the work, then [`complete`].
    Fresh,
    /// Already done: answer with the stored response bytes (decode as the RPC's response).
    Replay(Vec<u8>),
}

/// Validates a `request_id` field: a UUID, as the contracts ask.
pub fn parse_request_id(raw: &str) -> Result<uuid::Uuid, String> {
    if raw.is_empty() {
        return Err("is required for idempotent writes".into());
    }
    uuid::Uuid::parse_str(raw).map_err(|_| "must be a UUID".to_string())
}

/// The fingerprint a claim stores of its request, to refuse a reused id with another
/// payload. Public for callers that write the claim row inside a larger statement.
pub fn request_hash(request: &impl prost::Message) -> Vec<u8> {
    Sha256::digest(request.encode_to_vec()).to_vec()
}

/// Claims `request_id` for `caller` and `method` inside `tx`. A replay past the
/// retention is refused with ALREADY_EXISTS (see the module's doc).
pub async fn claim(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    request: &impl prost::Message,
) -> Result<Claim, Error> {
    claim_inner(tx, (caller, method, request_id), request, None, false).await
}

/// Like [`claim`], for an operation idempotent by nature (doing it again finds what the
/// first did): a replay past the retention is a new request ([`Claim::Fresh`]). The same
/// id with another payload is still refused: the tombstone keeps the request's hash.
pub async fn claim_renewable(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    request: &impl prost::Message,
) -> Result<Claim, Error> {
    claim_inner(tx, (caller, method, request_id), request, None, true).await
}

/// Like [`claim`], for a write whose answer is known before it is made (a create that
/// returns what it inserts): the answer is stored with the claim, saving [`complete`]'s
/// round trip. It becomes visible with the transaction, exactly like a completed claim.
pub async fn claim_answered(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    request: &impl prost::Message,
    response: &impl prost::Message,
) -> Result<Claim, Error> {
    let response = Some(response.encode_to_vec());
    claim_inner(tx, (caller, method, request_id), request, response, false).await
}

async fn claim_inner(
    tx: &mut PgConnection,
    (caller, method, request_id): (&str, &str, &str),
    request: &impl prost::Message,
    response: Option<Vec<u8>>,
    renewable: bool,
) -> Result<Claim, Error> {
    let hash = request_hash(request);
    let inserted = sqlx::query(
        "INSERT INTO idempotency (caller, method, request_id, request_hash, response) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ON CONSTRAINT idempotency_pk DO NOTHING",
    )
    .bind(caller)
    .bind(method)
    .bind(request_id)
    .bind(&hash)
    .bind(&response)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, answer, expired_at) = stored(tx, caller, method, request_id).await?;
    if stored_hash != hash {
        return Err(Error::invalid(
            "request_id",
            "was already used for a different request",
        ));
    }
    match (answer, expired_at) {
        (_, Some(_)) if renewable => {
            // Compare-and-set on the tombstone: of two concurrent renewals one wins; the
            // other waits on the row, finds it live again and replays the winner's answer.
            let renewed = sqlx::query(
                "UPDATE idempotency SET expired_at = NULL, created_at = now(), response = $4
                 WHERE caller = $1 AND method = $2 AND request_id = $3 AND expired_at IS NOT NULL",
            )
            .bind(caller)
            .bind(method)
            .bind(request_id)
            .bind(response)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if renewed == 1 {
                tracing::info!(method, "a request_id past its retention is treated as new");
                return Ok(Claim::Fresh);
            }
            match stored(tx, caller, method, request_id).await?.1 {
                Some(bytes) => Ok(Claim::Replay(bytes)),
                None => Err(in_flight()),
            }
        }
        (_, Some(at)) => Err(expired(request_id, at)),
        (Some(bytes), None) => Ok(Claim::Replay(bytes)),
        (None, None) => Err(in_flight()),
    }
}

fn in_flight() -> Error {
    Error::Aborted("the first request with this request_id is still in flight".into())
}

/// A replay past the retention of an operation that must not run twice.
fn expired(request_id: &str, at: DateTime<Utc>) -> Error {
    Error::AlreadyExists(format!(
        "request_id {request_id} was used and its answer is no longer kept (dropped at {} \
         by the idempotency retention): the request was applied then; use a new request_id \
         for a new request",
        at.format("%Y-%m-%dT%H:%M:%SZ")
    ))
}

/// The stored claim: its request hash, its answer (if completed and still kept), and when
/// its answer was dropped (a tombstone).
async fn stored(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
) -> Result<(Vec<u8>, Option<Vec<u8>>, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as(
        "SELECT request_hash, response, expired_at FROM idempotency
         WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(caller)
    .bind(method)
    .bind(request_id)
    .fetch_one(&mut *tx)
    .await
}

/// Stores the answer of a fresh request, in the same transaction as its effects.
pub async fn complete(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    response: &impl prost::Message,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE idempotency SET response = $4 WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(caller)
    .bind(method)
    .bind(request_id)
    .bind(response.encode_to_vec())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A claim written inside a caller's larger statement, so a create costs one round trip:
/// the key, the request's hash and the answer, stored together (see [`claim_answered`]).
pub struct Answered<'a> {
    pub caller: &'a str,
    pub method: &'a str,
    pub request_id: &'a str,
    request_hash: Vec<u8>,
    response: Vec<u8>,
}

impl<'a> Answered<'a> {
    pub fn new(
        (caller, method, request_id): (&'a str, &'a str, &'a str),
        request: &impl prost::Message,
        response: &impl prost::Message,
    ) -> Self {
        Answered {
            caller,
            method,
            request_id,
            request_hash: request_hash(request),
            response: response.encode_to_vec(),
        }
    }

    /// The claim's `INSERT ... RETURNING 1`, with parameters `$first` to `$first + 4`
    /// (caller, method, request_id, hash, answer): as a CTE it yields one row when the
    /// claim is fresh and none for a duplicate (waited on while the first is in flight),
    /// so every other part of the statement can be conditional on it.
    pub fn insert_sql(first: usize) -> String {
        let p = |i: usize| first + i;
        format!(
            "INSERT INTO idempotency (caller, method, request_id, request_hash, response)
             VALUES (${}, ${}, ${}, ${}, ${})
             ON CONFLICT ON CONSTRAINT idempotency_pk DO NOTHING RETURNING 1",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4)
        )
    }

    /// Binds the five parameters of [`Answered::insert_sql`], in order.
    pub fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        q.bind(self.caller)
            .bind(self.method)
            .bind(self.request_id)
            .bind(self.request_hash)
            .bind(self.response)
    }
}

/// The stored answer of an earlier call with this key, if it completed: for a create
/// whose fresh checks failed (the order directory down, a window closed since), so a
/// retry of a call that was applied is answered as the first time, not refused.
pub async fn earlier_answer<M: prost::Message + Default>(
    pool: &PgPool,
    (caller, method, request_id): (&str, &str, &str),
    request: &impl prost::Message,
) -> Result<Option<M>, Error> {
    let mut tx = pool.begin().await?;
    match claim(&mut tx, caller, method, request_id, request).await? {
        Claim::Replay(bytes) => Ok(Some(decode_replay(&bytes)?)),
        // nothing stored: the claim just taken is rolled back with `tx`
        Claim::Fresh => Ok(None),
    }
}

/// The answer to a duplicate that a one-statement create found ([`Answered`] was not
/// fresh): the first call's answer, or its refusals (another payload, past the retention).
pub async fn replay_duplicate<M: prost::Message + Default>(
    conn: &mut PgConnection,
    (caller, method, request_id): (&str, &str, &str),
    request: &impl prost::Message,
) -> Result<M, Error> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    match claim(&mut tx, caller, method, request_id, request).await? {
        Claim::Replay(bytes) => decode_replay(&bytes),
        // the claim just taken is rolled back with `tx`
        Claim::Fresh => Err(Error::Aborted("request_id claim vanished; retry".into())),
    }
}

/// Decodes a replayed answer.
pub fn decode_replay<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, Error> {
    M::decode(bytes).map_err(|e| Error::Internal(anyhow::anyhow!("stored response corrupt: {e}")))
}

/// Rows one purge statement turns into tombstones: short statements, so a purge never
/// holds many row locks at once.
const PURGE_BATCH: i64 = 1_000;

/// Drops the answers claimed more than `retention` ago, keeping their tombstones;
/// returns how many. Replicas may purge at once (`SKIP LOCKED`), and a claim in flight
/// is never touched (it is young, and locked by its transaction).
pub async fn purge(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let n = sqlx::query(
            "UPDATE idempotency SET response = NULL, expired_at = now()
             WHERE (caller, method, request_id) IN (
                 SELECT caller, method, request_id FROM idempotency
                 WHERE expired_at IS NULL AND created_at < now() - make_interval(secs => $1)
                 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(retention.as_secs_f64())
        .bind(PURGE_BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        total += n;
        if (n as i64) < PURGE_BATCH {
            return Ok(total);
        }
    }
}

/// How often [`purge_loop`] purges: a tenth of the retention (an answer outlives it by
/// at most that), between a second and an hour.
pub fn purge_period(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Purges until `shutdown`, as the outbox dispatcher purges delivered rows: a background
/// task of every service with a database, started once its migrations have run.
pub async fn purge_loop(pool: PgPool, retention: Duration, shutdown: CancellationToken) {
    let every = purge_period(retention);
    loop {
        match purge(&pool, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                answers = n,
                "idempotency answers past the retention dropped"
            ),
            Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;

    #[test]
    fn the_purge_runs_a_tenth_of_the_retention_apart_within_bounds() {
        assert_eq!(purge_period(DEFAULT_RETENTION), Duration::from_secs(3600));
        assert_eq!(
            purge_period(Duration::from_secs(60)),
            Duration::from_secs(6)
        );
        assert_eq!(
            purge_period(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_retention_defaults_to_seven_days_and_must_be_positive() {
        let env = Env::from_pairs([("AUTH_JWT_SECRET", "0123456789abcdef0123")]);
        let load = |env: Env| Config::load("refunds", 50053, env).unwrap();
        assert_eq!(retention(&load(env.clone())).unwrap(), DEFAULT_RETENTION);
        let two_hours = load(env.clone().with("IDEMPOTENCY_RETENTION", "2h"));
        assert_eq!(retention(&two_hours).unwrap(), Duration::from_secs(7200));
        for bad in ["0s", "soon"] {
            let cfg = load(env.clone().with("IDEMPOTENCY_RETENTION", bad));
            let err = retention(&cfg).unwrap_err();
            assert!(err.to_string().contains("IDEMPOTENCY_RETENTION"), "{err}");
        }
    }
}
