//! The Redis side of the schedule: per shard a `due` sorted set (member = delivery id,
//! score = fire time in epoch ms) and a `lease` sorted set of events a replica has claimed
//! (score = lease expiry). Every key of a shard carries the hash tag `{n}`, so each Lua
//! script touches one Redis Cluster slot and the shards spread over the cluster. Redis is a
//! cache of Postgres: everything here can be rebuilt from the `timers` table.

use redis::{Script, aio::ConnectionManager};

use crate::domain::{self, Point};

/// Number of shards: enough that one hot key does not cap throughput, few enough that a
/// claim pass over all of them stays cheap.
pub const SHARDS: u32 = 16;

/// How long a completed event is remembered, so a reconcile pass that read Postgres just
/// before the completion cannot put it back.
const TOMBSTONE_MS: i64 = 120_000;

/// Key names under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

/// How long a call that answers a caller waits on Redis (to connect, or for a reply)
/// before it gives up: Redis is only the fast schedule, what it misses the straggler pass
/// restores from Postgres, so a hung Redis must not hang the caller.
pub const CALLER_REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the engine's loops (claim, fire, reap, stragglers) wait on Redis before they
/// drop the connection and open another: a connection that went silent (a partition that
/// closed nothing, a hung proxy) would otherwise stop this replica's firing for good.
/// Longer than a caller's: these calls carry whole claim passes.
pub const ENGINE_REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A Redis connection for work a caller waits on, bounded by [`CALLER_REDIS_TIMEOUT`]
/// (redis-rs waits forever by default).
pub async fn bounded_connection(client: redis::Client) -> redis::RedisResult<ConnectionManager> {
    connection_within(client, CALLER_REDIS_TIMEOUT).await
}

/// Whether a connection that returned `e` should be replaced: redis-rs reconnects by itself
/// only after a dropped connection, never after a reply timed out, so a connection that
/// went silent would otherwise fail every later call the same way.
pub fn replace_connection_after(e: &redis::RedisError) -> bool {
    e.is_timeout() || e.is_io_error() || e.is_connection_dropped()
}

/// A Redis connection whose connect and every reply are bounded by `timeout`.
pub async fn connection_within(
    client: redis::Client,
    timeout: std::time::Duration,
) -> redis::RedisResult<ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout);
    // The whole attempt, not each of the manager's own retries.
    tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "connecting timed out")))?
}

/// Events grouped by shard, as (member, due ms): one command or script call per shard.
fn by_shard(events: &[Event]) -> std::collections::BTreeMap<u32, Vec<(&str, i64)>> {
    let mut by_shard: std::collections::BTreeMap<u32, Vec<(&str, i64)>> = Default::default();
    for (shard, member, at) in events {
        by_shard.entry(*shard).or_default().push((member, *at));
    }
    by_shard
}

/// Runs a pipeline of `script` calls. A pipeline of EVALSHA cannot recover from NOSCRIPT,
/// so the script is loaded first (once, `loaded` remembers), and again if Redis forgot it
/// (restarted or flushed), then the pipeline is sent once more: every caller's script is
/// safe to repeat.
async fn query_scripted<T: redis::FromRedisValue>(
    script: &Script,
    loaded: &std::sync::atomic::AtomicBool,
    pipe: &redis::Pipeline,
    c: &mut ConnectionManager,
) -> redis::RedisResult<T> {
    use std::sync::atomic::Ordering::Relaxed;
    for _ in 0..2 {
        if !loaded.load(Relaxed) {
            script.prepare_invoke().load_async(c).await?;
            loaded.store(true, Relaxed);
        }
        match pipe.query_async(c).await {
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => loaded.store(false, Relaxed),
            other => return other,
        }
    }
    Err((
        redis::ErrorKind::NoScriptError,
        "the script would not stay loaded",
    )
        .into())
}

/// One scheduled event as Redis holds it: (shard, member, due ms).
pub type Event = (u32, String, i64);

/// A timer's event; the member is the delivery id of its `point` in its `generation`.
pub fn event(
    timer: uuid::Uuid,
    generation: i32,
    point: Point,
    at: chrono::DateTime<chrono::Utc>,
) -> Event {
    let mut buf = uuid::Uuid::encode_buffer();
    let id = timer.hyphenated().encode_lower(&mut buf);
    (
        Keys::shard_of(id),
        domain::delivery_id(id, generation, point),
        at.timestamp_millis(),
    )
}

impl Keys {
    /// Keys under `prefix` (the service's `REDIS_KEY_PREFIX`).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }
    /// The shard of a timer: stable, from its id.
    pub fn shard_of(timer_id: &str) -> u32 {
        // FNV-1a: tiny, stable across processes and versions (unlike std's hasher).
        let mut h: u32 = 0x811c_9dc5;
        for b in timer_id.bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
        h % SHARDS
    }
    /// Due events of shard `n`.
    pub fn due(&self, n: u32) -> String {
        format!("{}sla:{{{n}}}:due", self.prefix)
    }
    /// Claimed events of shard `n`.
    pub fn lease(&self, n: u32) -> String {
        format!("{}sla:{{{n}}}:lease", self.prefix)
    }
    /// Tombstone of a completed event.
    pub fn done(&self, n: u32, member: &str) -> String {
        format!("{}{member}", self.done_prefix(n))
    }
    /// What every tombstone key of shard `n` starts with.
    fn done_prefix(&self, n: u32) -> String {
        format!("{}sla:{{{n}}}:done:", self.prefix)
    }
    /// Present while the schedule is known to be complete; its absence means Redis lost
    /// data (or never had it) and the schedule must be rebuilt from Postgres.
    pub fn epoch(&self) -> String {
        format!("{}sla:epoch", self.prefix)
    }
}

/// Moves events due by `horizon` from `due` to `lease`, returning (member, score) pairs.
const CLAIM: &str = r#"
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local now = tonumber(ARGV[1])
for i = 1, #items, 2 do
  local score = tonumber(items[i + 1])
  redis.call('ZREM', KEYS[1], items[i])
  redis.call('ZADD', KEYS[2], math.max(score, now) + tonumber(ARGV[4]), items[i])
end
return items
"#;

/// Returns 1 per member still leased (not cancelled or taken back meanwhile), else 0.
const CONFIRM: &str = r#"
local out = {}
for i = 1, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then out[i] = 1 else out[i] = 0 end
end
return out
"#;

/// Ends a delivered event: drops its lease and leaves a tombstone.
const COMPLETE: &str = r#"
for i = 2, #KEYS do
  redis.call('ZREM', KEYS[1], ARGV[i - 1])
  redis.call('SET', KEYS[i], '1', 'PX', tonumber(ARGV[#ARGV]))
end
return 1
"#;

/// Puts a failed event back to `due` at `score`, if it is still leased.
const RETRY: &str = r#"
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
"#;

/// Moves leases that expired (their holder died) back to `due`, to fire at once.
const REAP: &str = r#"
local items = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #items do
  redis.call('ZREM', KEYS[2], items[i])
  redis.call('ZADD', KEYS[1], ARGV[1], items[i])
end
return #items
"#;

/// Adds an event found in Postgres unless it is leased, due already, or just completed.
const RESTORE: &str = r#"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
return redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
"#;

/// Adds new timers' events, pairs of (member, due ms) in ARGV after the tombstone prefix, each
/// unless it is claimed (in the lease set) or completed (tombstoned): an add that arrives
/// late, after the straggler pass restored the event and a replica claimed or delivered
/// it, must not bring it back for a second delivery. NX: nor move an event's time. The
/// tombstone keys are built here rather than passed in KEYS; they share the shard's hash
/// tag, so they live in the same cluster slot.
const ADD_NEW: &str = r#"
local added = 0
for i = 2, #ARGV, 2 do
  local m = ARGV[i]
  if redis.call('EXISTS', ARGV[1] .. m) == 0 and not redis.call('ZSCORE', KEYS[2], m) then
    added = added + redis.call('ZADD', KEYS[1], 'NX', ARGV[i + 1], m)
  end
end
return added
"#;

/// How far ahead a new event must be due for [`Schedule::add_new`] to add it with a plain
/// `ZADD NX`, without [`ADD_NEW`]'s lease and tombstone lookups: only an event within a
/// replica's claim lookahead (1.5 s) can have been claimed or delivered, and this leaves
/// a clock-skew allowance on top. A replica whose clock ran this far ahead would fire every
/// timer 10 s early, a fault in itself. Most timers are due hours or days ahead.
pub const ADD_NEW_FAR_MS: i64 = 10_000;

/// The compiled scripts (sent by SHA, loaded on first use).
#[derive(Clone)]
pub struct Schedule {
    keys: Keys,
    /// How long a claimed event stays invisible to other replicas; a replica that dies
    /// holding it only delays it by this much.
    lease_ms: i64,
    claim: Script,
    confirm: Script,
    complete: Script,
    retry: Script,
    reap: Script,
    restore: Script,
    add_new: Script,
    confirm_loaded: std::sync::Arc<std::sync::atomic::AtomicBool>,
    add_new_loaded: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A claimed event.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// Delivery id.
    pub member: String,
    /// When it is due (epoch ms).
    pub at_ms: i64,
}

impl Schedule {
    /// Scripts over `keys`, claiming with a lease of `lease_ms`.
    pub fn new(keys: Keys, lease_ms: i64) -> Self {
        Self {
            keys,
            lease_ms,
            claim: Script::new(CLAIM),
            confirm: Script::new(CONFIRM),
            complete: Script::new(COMPLETE),
            retry: Script::new(RETRY),
            reap: Script::new(REAP),
            restore: Script::new(RESTORE),
            add_new: Script::new(ADD_NEW),
            confirm_loaded: Default::default(),
            add_new_loaded: Default::default(),
        }
    }

    /// The key names.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Adds events of changed timers (resumed, rescheduled, replayed) in one pipeline: one
    /// ZADD per shard with all its (score, member) pairs. A replayed dead letter keeps its
    /// member, so this one ignores tombstones, unlike [`Schedule::add_new`].
    pub async fn add(&self, c: &mut ConnectionManager, events: &[Event]) -> redis::RedisResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (shard, items) in by_shard(events) {
            let scored: Vec<(i64, &str)> = items.into_iter().map(|(m, at)| (at, m)).collect();
            pipe.zadd_multiple(self.keys.due(shard), &scored).ignore();
        }
        pipe.query_async(c).await
    }

    /// Adds events of newly created timers in one pipeline, per shard one `ZADD NX` of those
    /// due beyond [`ADD_NEW_FAR_MS`] and one script call with the rest (a group of 500
    /// timers is at most 32 calls, not 500), which skips events already claimed or
    /// completed (see [`ADD_NEW`]): this add may come late.
    pub async fn add_new(
        &self,
        c: &mut ConnectionManager,
        events: &[Event],
    ) -> redis::RedisResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let far_from = chrono::Utc::now().timestamp_millis() + ADD_NEW_FAR_MS;
        let mut pipe = redis::pipe();
        let mut scripted = false;
        for (shard, items) in by_shard(events) {
            let (far, near): (Vec<_>, Vec<_>) =
                items.into_iter().partition(|(_, at)| *at > far_from);
            if !far.is_empty() {
                let mut zadd = redis::cmd("ZADD");
                zadd.arg(self.keys.due(shard)).arg("NX");
                for (member, at) in far {
                    zadd.arg(at).arg(member);
                }
                pipe.add_command(zadd).ignore();
            }
            if !near.is_empty() {
                let mut call = self.add_new.key(self.keys.due(shard));
                call.key(self.keys.lease(shard))
                    .arg(self.keys.done_prefix(shard));
                for (member, at) in near {
                    call.arg(member).arg(at);
                }
                pipe.invoke_script(&call).ignore();
                scripted = true;
            }
        }
        if scripted {
            query_scripted(&self.add_new, &self.add_new_loaded, &pipe, c).await
        } else {
            pipe.query_async(c).await
        }
    }

    /// Removes an event wherever it is (cancel, reschedule, pause).
    pub async fn remove(
        &self,
        c: &mut ConnectionManager,
        shard: u32,
        member: &str,
    ) -> redis::RedisResult<()> {
        redis::pipe()
            .zrem(self.keys.due(shard), member)
            .ignore()
            .zrem(self.keys.lease(shard), member)
            .ignore()
            .query_async(c)
            .await
    }

    /// Claims up to `limit` events of `shard` due by `horizon_ms`.
    pub async fn claim(
        &self,
        c: &mut ConnectionManager,
        shard: u32,
        now_ms: i64,
        horizon_ms: i64,
        limit: usize,
    ) -> redis::RedisResult<Vec<Claimed>> {
        let flat: Vec<String> = self
            .claim
            .key(self.keys.due(shard))
            .key(self.keys.lease(shard))
            .arg(now_ms)
            .arg(horizon_ms)
            .arg(limit)
            .arg(self.lease_ms)
            .invoke_async(c)
            .await?;
        Ok(flat
            .chunks_exact(2)
            .map(|p| Claimed {
                member: p[0].clone(),
                at_ms: p[1].parse::<f64>().unwrap_or_default() as i64,
            })
            .collect())
    }

    /// Which members are still leased to be fired, for several shards in one round trip
    /// (the fire path's only Redis call before the owner is called).
    pub async fn confirm(
        &self,
        c: &mut ConnectionManager,
        by_shard: &[(u32, Vec<String>)],
    ) -> redis::RedisResult<Vec<Vec<bool>>> {
        if by_shard.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (shard, members) in by_shard {
            pipe.invoke_script(self.confirm.key(self.keys.lease(*shard)).arg(members));
        }
        let flags: Vec<Vec<i64>> =
            query_scripted(&self.confirm, &self.confirm_loaded, &pipe, c).await?;
        Ok(flags
            .into_iter()
            .map(|v| v.into_iter().map(|f| f == 1).collect())
            .collect())
    }

    /// Completes delivered events of `shard`.
    pub async fn complete(
        &self,
        c: &mut ConnectionManager,
        shard: u32,
        members: &[String],
    ) -> redis::RedisResult<()> {
        if members.is_empty() {
            return Ok(());
        }
        let mut inv = self.complete.key(self.keys.lease(shard));
        for m in members {
            inv.key(self.keys.done(shard, m));
        }
        inv.arg(members)
            .arg(TOMBSTONE_MS)
            .invoke_async::<i64>(c)
            .await?;
        Ok(())
    }

    /// Puts a failed event back for a retry at `at_ms`.
    pub async fn retry(
        &self,
        c: &mut ConnectionManager,
        shard: u32,
        member: &str,
        at_ms: i64,
    ) -> redis::RedisResult<()> {
        self.retry
            .key(self.keys.due(shard))
            .key(self.keys.lease(shard))
            .arg(member)
            .arg(at_ms)
            .invoke_async::<i64>(c)
            .await?;
        Ok(())
    }

    /// Returns expired leases of `shard` to `due`; how many.
    pub async fn reap(
        &self,
        c: &mut ConnectionManager,
        shard: u32,
        now_ms: i64,
    ) -> redis::RedisResult<i64> {
        self.reap
            .key(self.keys.due(shard))
            .key(self.keys.lease(shard))
            .arg(now_ms)
            .arg(1000)
            .invoke_async(c)
            .await
    }

    /// Restores events read from Postgres, skipping leased and just-completed ones.
    pub async fn restore(
        &self,
        c: &mut ConnectionManager,
        events: &[Event],
    ) -> redis::RedisResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (shard, member, at) in events {
            pipe.invoke_script(
                self.restore
                    .key(self.keys.due(*shard))
                    .key(self.keys.lease(*shard))
                    .key(self.keys.done(*shard, member))
                    .arg(member)
                    .arg(*at),
            )
            .ignore();
        }
        // Load the script first: a pipeline of EVALSHA cannot recover from NOSCRIPT.
        self.restore.prepare_invoke().load_async(c).await?;
        pipe.query_async(c).await
    }
}
