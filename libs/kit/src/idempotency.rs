//! Idempotent writes by `request_id`: a replay returns the first answer, the same id with a
//! different payload is refused. The claim row is inserted inside the write's own
//! transaction, so a concurrent duplicate waits on the unique key until the first commits
//! (then replays its answer) or rolls back (then proceeds as the first).

use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::error::Error;

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

/// Claims `request_id` for `caller` and `method` inside `tx`.
pub async fn claim(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    request: &impl prost::Message,
) -> Result<Claim, Error> {
    claim_inner(tx, caller, method, request_id, request, None).await
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
    claim_inner(
        tx,
        caller,
        method,
        request_id,
        request,
        Some(response.encode_to_vec()),
    )
    .await
}

async fn claim_inner(
    tx: &mut PgConnection,
    caller: &str,
    method: &str,
    request_id: &str,
    request: &impl prost::Message,
    response: Option<Vec<u8>>,
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
    .bind(response)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, response): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT request_hash, response FROM idempotency WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(caller)
    .bind(method)
    .bind(request_id)
    .fetch_one(&mut *tx)
    .await?;
    if stored_hash != hash {
        return Err(Error::invalid(
            "request_id",
            "was already used for a different request",
        ));
    }
    match response {
        Some(bytes) => Ok(Claim::Replay(bytes)),
        None => Err(Error::Aborted(
            "the first request with this request_id is still in flight".into(),
        )),
    }
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

/// Decodes a replayed answer.
pub fn decode_replay<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, Error> {
    M::decode(bytes).map_err(|e| Error::Internal(anyhow::anyhow!("stored response corrupt: {e}")))
}
