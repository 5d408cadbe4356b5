//! The load generator's HTTP/2 connections: hyper's client connection, cloned by every
//! worker, with nothing between a call and the connection.
//!
//! tonic's `Channel` puts a tower buffer (a task and a channel hop per call) and a
//! reconnecting layer in front of the same connection. That is what a long-lived platform
//! caller wants, but here it is CPU the generator takes from the 2 cores it shares with
//! the service under test. The service sees the same gRPC requests either way (less
//! tonic's user-agent header).

use std::{future::Future, pin::Pin, task::Poll};

use anyhow::Context;
use http::{Request, Response, Uri};
use hyper::{
    body::Incoming,
    client::conn::http2::{self, SendRequest},
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tonic::body::Body;

/// One HTTP/2 connection to a replica; clones share it.
#[derive(Clone)]
pub struct Conn {
    send: SendRequest<Body>,
    /// `http://host:port`: tonic puts it in front of each call's path.
    pub origin: Uri,
}

/// Connects to `url` (`http://host:port`) with TCP_NODELAY, as tonic's endpoint would.
pub async fn connect(url: &str) -> anyhow::Result<Conn> {
    let origin: Uri = url.parse().with_context(|| format!("url {url}"))?;
    let authority = origin.authority().context("url has no host:port")?.as_str();
    let tcp = tokio::net::TcpStream::connect(authority).await?;
    tcp.set_nodelay(true)?;
    let (send, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await?;
    let peer = authority.to_string();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("sla-bench: connection to {peer} ended: {e}");
        }
    });
    Ok(Conn { send, origin })
}

impl tower_service::Service<Request<Body>> for Conn {
    type Response = Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}
