//! The event streams as tests meet them: what a service published, and an event put on
//! a stream as its publisher's relay would.

use crate::{World, redis};

/// Appends `envelope` to the `topic` stream of this world as a publishing service's
/// outbox relay does (a relay that re-publishes, after Redis lost its data, sends the
/// same envelope again): for tests of a consumer whose producer is not under test.
pub async fn announce(
    world: &World,
    topic: &str,
    envelope: &aftersales_proto::aftersales::common::v1::EventEnvelope,
) {
    use prost::Message;
    let key = kit::outbox::stream_key(&world.redis_prefix(), topic);
    let mut conn = redis().await;
    redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("id")
        .arg(&envelope.id)
        .arg("envelope")
        .arg(envelope.encode_to_vec())
        .query_async::<()>(&mut conn)
        .await
        .expect("XADD");
}

/// The envelope `source` would publish for `event` about `subject`, with a fresh id.
pub fn envelope<M: prost::Message + prost::Name>(
    source: &str,
    subject: &str,
    event: &M,
) -> aftersales_proto::aftersales::common::v1::EventEnvelope {
    aftersales_proto::aftersales::common::v1::EventEnvelope {
        id: uuid::Uuid::now_v7().to_string(),
        source: source.into(),
        spec_version: "1.0".into(),
        r#type: M::full_name(),
        subject: subject.into(),
        data_content_type: "application/protobuf".into(),
        data_schema: M::full_name(),
        data: event.encode_to_vec(),
        ..Default::default()
    }
}

/// The domain events published so far on `topic` in this world (oldest first), decoded
/// from the outbox's Redis stream, for tests asserting what a service announced.
pub async fn published(
    world: &World,
    topic: &str,
) -> Vec<aftersales_proto::aftersales::common::v1::EventEnvelope> {
    use prost::Message;
    let key = kit::outbox::stream_key(&world.redis_prefix(), topic);
    let mut conn = redis().await;
    let Ok(redis::Value::Array(entries)) = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .query_async::<redis::Value>(&mut conn)
        .await
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        // [id, [field, value, field, value...]]
        let redis::Value::Array(parts) = entry else {
            continue;
        };
        let Some(redis::Value::Array(fields)) = parts.get(1) else {
            continue;
        };
        for kv in fields.chunks(2) {
            let is_envelope =
                redis::from_redis_value::<String>(&kv[0]).is_ok_and(|k| k == "envelope");
            if let (true, Ok(bytes)) = (is_envelope, redis::from_redis_value::<Vec<u8>>(&kv[1])) {
                out.push(
                    aftersales_proto::aftersales::common::v1::EventEnvelope::decode(
                        bytes.as_slice(),
                    )
                    .expect("an EventEnvelope"),
                );
            }
        }
    }
    out
}
