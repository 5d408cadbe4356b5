//! Outgoing gRPC: lazily connected channels to peer services, each call carrying a fresh
//! service token and the current trace context, plus a pass-through codec so the outbox can
//! deliver an already-encoded command to any method.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::{Buf, BufMut, Bytes};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use crate::{
    auth::{Role, Tokens},
    config::Config,
    error::Error,
    telemetry,
};

/// Adds `authorization: Bearer <service token>` and `traceparent` to every call.
#[derive(Clone)]
pub struct ServiceAuth {
    tokens: Tokens,
    service: Arc<str>,
}

impl ServiceAuth {
    /// Tokens minted as service `service`.
    pub fn new(tokens: Tokens, service: &str) -> Self {
        Self {
            tokens,
            service: service.into(),
        }
    }
}

impl Interceptor for ServiceAuth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        // Short-lived and minted per call: HS256 signing costs microseconds.
        let token = self.tokens.mint(Role::Service, &self.service, None, 300);
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("token not ASCII"))?;
        req.metadata_mut().insert("authorization", value);
        telemetry::inject_current(req.metadata_mut());
        Ok(req)
    }
}

/// A channel to a peer with service auth applied; pass it to any generated client's `new`.
pub type PeerChannel = InterceptedService<Channel, ServiceAuth>;

/// Channels to peer services by name, resolved from `<NAME>_URL` and cached.
#[derive(Clone)]
pub struct Peers {
    cfg: Arc<Config>,
    auth: ServiceAuth,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Peers {
    /// Peers of the service described by `cfg`.
    pub fn new(cfg: Arc<Config>, tokens: Tokens) -> Self {
        let auth = ServiceAuth::new(tokens, &cfg.service);
        Self {
            cfg,
            auth,
            channels: Arc::default(),
        }
    }

    /// The same peers with a channel cache of their own. A channel's connection runs on
    /// the runtime that first used it, so a task on another runtime that must not wait
    /// for this one's (the SLA service's firing thread) takes its own.
    pub fn with_own_channels(&self) -> Self {
        Self {
            cfg: self.cfg.clone(),
            auth: self.auth.clone(),
            channels: Arc::default(),
        }
    }

    /// The raw (unauthenticated) channel to `peer`.
    pub fn channel(&self, peer: &str) -> Result<Channel, Error> {
        let mut channels = self.channels.lock().expect("peer map poisoned");
        if let Some(c) = channels.get(peer) {
            return Ok(c.clone());
        }
        let url = self
            .cfg
            .peer_url(peer)
            .map_err(|e| Error::Internal(e.into()))?;
        let channel = Endpoint::from_shared(url)
            .map_err(|e| Error::Internal(e.into()))?
            .connect_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .connect_lazy();
        channels.insert(peer.to_string(), channel.clone());
        Ok(channel)
    }

    /// An authenticated channel to `peer`, e.g. `SlaServiceClient::new(peers.get("sla")?)`.
    pub fn get(&self, peer: &str) -> Result<PeerChannel, Error> {
        Ok(InterceptedService::new(
            self.channel(peer)?,
            self.auth.clone(),
        ))
    }

    /// Calls `method` (a full gRPC path) on `peer` with an already-encoded request.
    pub async fn call_raw(
        &self,
        peer: &str,
        method: &str,
        payload: Bytes,
        idempotency_key: &str,
    ) -> Result<Bytes, Status> {
        let channel = self.get(peer).map_err(Status::from)?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("{peer} not reachable: {e}")))?;
        let path: http::uri::PathAndQuery = method
            .parse()
            .map_err(|_| Status::internal(format!("bad method path {method}")))?;
        let mut req = tonic::Request::new(payload);
        if let Ok(v) = idempotency_key.parse() {
            req.metadata_mut().insert("idempotency-key", v);
        }
        grpc.unary(req, path, RawCodec)
            .await
            .map(tonic::Response::into_inner)
    }
}

/// Passes bytes through unchanged: the message was encoded when the outbox row was written.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
