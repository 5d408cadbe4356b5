//! The tower layer in front of every service: trace context, RED metrics, unknown methods,
//! the readiness gate and authentication + the method's access rule, in that order; and
//! gRPC's code for a request over the size limit.
//! Handlers find the verified [`Principal`](crate::auth::Principal) in the request
//! extensions.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use tonic::{Status, body::Body};
use tower_service::Service;
use tracing::Instrument;

use crate::{
    auth::{Policy, Tokens},
    telemetry,
};

/// Shared state of the layer. Every call clones it: one reference count (cloning the token
/// keys per call, two buffers and the issuer, was 1.8% of the SLA service's CPU samples
/// in a profile of ScheduleTimer; the rate did not change measurably).
#[derive(Clone)]
pub struct KitLayer(Arc<Shared>);

struct Shared {
    service: String,
    tokens: Tokens,
    policy: Policy,
    /// `/package.Service/Method` of every method the port serves.
    served: BTreeSet<String>,
    ready: Arc<AtomicBool>,
}

impl KitLayer {
    /// A layer for `service` serving the methods `served` under `policy`; `ready` opens
    /// the gate once migrations ran.
    pub fn new(
        service: &str,
        tokens: Tokens,
        policy: Policy,
        served: BTreeSet<String>,
        ready: Arc<AtomicBool>,
    ) -> Self {
        Self(Arc::new(Shared {
            service: service.into(),
            tokens,
            policy,
            served,
            ready,
        }))
    }
}

impl<S> tower_layer::Layer<S> for KitLayer {
    type Service = KitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        KitService {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`KitLayer`].
#[derive(Clone)]
pub struct KitService<S> {
    inner: S,
    layer: KitLayer,
}

impl<S> Service<http::Request<Body>> for KitService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // Take the service that was polled ready, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.0.clone();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!("grpc", rpc.method = %path, otel.kind = "server", caller = tracing::field::Empty);
        telemetry::adopt_remote_parent(&span, req.headers());
        let started = Instant::now();

        let fut = async move {
            let public = Policy::is_public(&path);
            let refusal: Option<Status> = if public {
                None
            } else if !layer.served.contains(&path) {
                // gRPC's convention for a method the server does not have.
                Some(Status::unimplemented(format!(
                    "{path} is not served on this port"
                )))
            } else if !layer.ready.load(Ordering::Acquire) {
                Some(Status::unavailable("service is starting: not ready yet"))
            } else {
                match layer.tokens.authenticate(req.headers()) {
                    Err(e) => Some(e.into()),
                    Ok(principal) => match layer.policy.authorize(&path, &principal) {
                        Err(e) => Some(e.into()),
                        Ok(()) => {
                            tracing::Span::current()
                                .record("caller", format!("{}:{}", principal.role, principal.id));
                            req.extensions_mut().insert(principal);
                            None
                        }
                    },
                }
            };
            let response = match refusal {
                Some(status) => Ok(status.into_http()),
                None => inner.call(req).await.map(oversize_is_resource_exhausted),
            };
            if !public {
                let code = match &response {
                    Ok(r) => r
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map(|c| format!("{:?}", tonic::Code::from_i32(c)))
                        .unwrap_or_else(|| "Ok".into()),
                    Err(_) => "TransportError".into(),
                };
                let labels = [
                    ("service", layer.service.to_string()),
                    // a path the port does not serve is anything a client sent: one label
                    // for all of them, so junk calls cannot grow the metric without bound
                    (
                        "method",
                        if layer.served.contains(&path) {
                            path.clone()
                        } else {
                            "unknown".into()
                        },
                    ),
                    ("code", code),
                ];
                metrics::counter!("grpc_server_handled_total", &labels).increment(1);
                metrics::histogram!("grpc_server_handling_seconds", &labels[..2])
                    .record(started.elapsed().as_secs_f64());
            }
            response
        };
        Box::pin(fut.instrument(span))
    }
}

/// tonic refuses a request over the decoding limit (4 MiB) as OUT_OF_RANGE before any
/// handler runs, in a trailers-only answer; gRPC's convention (and what clients retry
/// on, or not) is RESOURCE_EXHAUSTED. Handlers never answer with this message, so the
/// rewrite touches nothing else.
fn oversize_is_resource_exhausted(response: http::Response<Body>) -> http::Response<Body> {
    if response.headers().get("grpc-status").map(|v| v.as_bytes()) != Some(b"11") {
        return response;
    }
    match Status::from_header_map(response.headers()) {
        Some(s) if s.message().contains("decoded message length too large") => {
            Status::resource_exhausted(
                s.message()
                    .replace("Error, decoded", "request refused: decoded"),
            )
            .into_http()
        }
        _ => response,
    }
}
