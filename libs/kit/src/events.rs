//! Consuming other services' domain events from Redis Streams with a consumer group (one
//! group per consuming service, so replicas share the work). A message is acknowledged only
//! after its handler succeeded; messages left pending by a dead replica are reclaimed after
//! an idle time. Handlers deduplicate with [`crate::inbox`], since delivery is at least once.

use std::{future::Future, time::Duration};

use aftersales_proto::aftersales::common::v1::EventEnvelope;
use prost::Message;
use redis::{AsyncCommands, aio::ConnectionManager, streams::StreamReadReply};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{outbox::stream_key, telemetry};

/// Where and as whom to consume.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Redis key prefix (tests isolate by it).
    pub prefix: String,
    /// Topics (publishing services) to read.
    pub topics: Vec<String>,
    /// Consumer group: the consuming service's name.
    pub group: String,
    /// This replica's name within the group.
    pub consumer: String,
    /// Pending messages idle longer than this are taken over from their consumer.
    pub reclaim_after: Duration,
}

/// Reads until `shutdown`, calling `handle` for each envelope; an `Err` leaves the message
/// pending for a later retry.
pub async fn consume<F, Fut>(
    client: redis::Client,
    sub: Subscription,
    shutdown: CancellationToken,
    handle: F,
) where
    F: Fn(EventEnvelope) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let keys: Vec<String> = sub
        .topics
        .iter()
        .map(|t| stream_key(&sub.prefix, t))
        .collect();
    let mut conn: Option<ConnectionManager> = None;
    let mut last_reclaim = std::time::Instant::now();
    while !shutdown.is_cancelled() {
        let step = async {
            if conn.is_none() {
                let mut c = ConnectionManager::new(client.clone()).await?;
                for key in &keys {
                    ensure_group(&mut c, key, &sub.group).await?;
                }
                conn = Some(c);
            }
            let c = conn.as_mut().expect("connected");
            if last_reclaim.elapsed() > sub.reclaim_after / 2 {
                last_reclaim = std::time::Instant::now();
                for key in &keys {
                    reclaim(c, key, &sub, &handle).await?;
                }
            }
            let opts = redis::streams::StreamReadOptions::default()
                .group(&sub.group, &sub.consumer)
                .count(100)
                .block(1000);
            let ids: Vec<&str> = keys.iter().map(|_| ">").collect();
            let reply: Option<StreamReadReply> = c.xread_options(&keys, &ids, &opts).await?;
            for stream in reply.map(|r| r.keys).unwrap_or_default() {
                for entry in stream.ids {
                    process(c, &stream.key, &sub.group, &entry, &handle).await?;
                }
            }
            anyhow::Ok(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = step => if let Err(e) = r {
                // NOGROUP after a Redis data loss lands here too: reconnect re-creates groups.
                tracing::warn!(error = %e, "event consumer error; reconnecting");
                conn = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            },
        }
    }
}

async fn ensure_group(c: &mut ConnectionManager, key: &str, group: &str) -> anyhow::Result<()> {
    // Start at 0: a new group (or one re-created after Redis lost data) reads the whole
    // stream; the inbox makes re-reading harmless.
    let r: redis::RedisResult<()> = c.xgroup_create_mkstream(key, group, "0").await;
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn process<F, Fut>(
    c: &mut ConnectionManager,
    key: &str,
    group: &str,
    entry: &redis::streams::StreamId,
    handle: &F,
) -> anyhow::Result<()>
where
    F: Fn(EventEnvelope) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let Some(bytes) = entry.get::<Vec<u8>>("envelope") else {
        tracing::error!(stream = key, id = %entry.id, "message without envelope; acknowledging to drop it");
        let _: () = c.xack(key, group, &[&entry.id]).await?;
        return Ok(());
    };
    let envelope = match EventEnvelope::decode(bytes.as_slice()) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(stream = key, id = %entry.id, error = %e, "undecodable envelope dropped");
            let _: () = c.xack(key, group, &[&entry.id]).await?;
            return Ok(());
        }
    };
    let span = tracing::info_span!("event", r#type = %envelope.r#type, subject = %envelope.subject, event_id = %envelope.id);
    telemetry::adopt_traceparent(
        &span,
        Some(envelope.traceparent.as_str()).filter(|s| !s.is_empty()),
    );
    match handle(envelope).instrument(span).await {
        Ok(()) => {
            let _: () = c.xack(key, group, &[&entry.id]).await?;
            metrics::counter!("events_consumed_total", "stream" => key.to_string()).increment(1);
        }
        Err(e) => {
            tracing::warn!(stream = key, id = %entry.id, error = %e, "event handler failed; left pending");
            metrics::counter!("events_failed_total", "stream" => key.to_string()).increment(1);
        }
    }
    Ok(())
}

async fn reclaim<F, Fut>(
    c: &mut ConnectionManager,
    key: &str,
    sub: &Subscription,
    handle: &F,
) -> anyhow::Result<()>
where
    F: Fn(EventEnvelope) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let reply: redis::streams::StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
        .arg(key)
        .arg(&sub.group)
        .arg(&sub.consumer)
        .arg(sub.reclaim_after.as_millis() as u64)
        .arg("0")
        .arg("COUNT")
        .arg(100)
        .query_async(c)
        .await?;
    for entry in reply.claimed {
        process(c, key, &sub.group, &entry, handle).await?;
    }
    Ok(())
}
