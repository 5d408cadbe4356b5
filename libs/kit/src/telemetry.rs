//! Logs, traces and metrics. JSON logs via `tracing`; OpenTelemetry spans exported over OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; W3C trace context (`traceparent`) carried on
//! every gRPC hop in both directions; Prometheus metrics on their own HTTP port.

use std::net::SocketAddr;

use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{Config, LogFormat};

/// Keeps the tracer provider alive; flushes spans when dropped at shutdown.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs the global subscriber (once per process; later calls are no-ops, which is what
/// in-process tests that start several services want).
pub fn init(cfg: &Config) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let mut builder = SdkTracerProvider::builder();
    if let Some(endpoint) = &cfg.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        match opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
        {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("OTLP exporter disabled: {e}"),
        }
    }
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(cfg.service.clone())
        .build();
    let provider = builder.with_resource(resource).build();
    let tracer = provider.tracer(cfg.service.clone());
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let installed = match cfg.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init(),
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    TelemetryGuard {
        provider: installed.is_ok().then_some(provider),
    }
}

struct HeaderExtract<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataInject<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInject<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.0.insert(k, v);
        }
    }
}

struct MapInject<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl Injector for MapInject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

/// Makes `span` a child of the trace context carried in incoming headers.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = TraceContextPropagator::new().extract(&HeaderExtract(headers));
    let _ = span.set_parent(cx);
}

/// Writes the current span's trace context into outgoing gRPC metadata.
pub fn inject_current(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut MetadataInject(metadata));
}

/// The current `traceparent`, stored with outbox rows so delivery continues the trace.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut map = std::collections::BTreeMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut MapInject(&mut map));
    map.remove("traceparent")
}

/// Makes `span` a child of a stored `traceparent` (outbox delivery, stream consumption).
pub fn adopt_traceparent(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(tp) = traceparent {
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = tp.parse() {
            headers.insert("traceparent", v);
            adopt_remote_parent(span, &headers);
        }
    }
}

/// Starts the Prometheus exporter on `addr` (port 0 = disabled). The recorder is global:
/// the first service of a process installs it, later ones share it.
pub fn start_metrics(addr: SocketAddr) {
    if addr.port() == 0 {
        return;
    }
    let result = metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        )
        .and_then(|b| b.install());
    if let Err(e) = result {
        tracing::warn!(error = %e, %addr, "metrics exporter not started");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subscriber with the OpenTelemetry layer, scoped to one test.
    fn with_otel<R>(f: impl FnOnce() -> R) -> R {
        let provider = SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn an_incoming_traceparent_continues_into_outgoing_calls_and_outbox_rows() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        with_otel(|| {
            let span = tracing::info_span!("grpc");
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", incoming.parse().unwrap());
            adopt_remote_parent(&span, &headers);
            let _g = span.enter();

            // Stored with an outbox row: same trace, a new span id.
            let stored = current_traceparent().expect("traceparent");
            assert!(
                stored.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{stored}"
            );
            assert!(!stored.contains("00f067aa0ba902b7"));

            // Injected into an outgoing call.
            let mut md = tonic::metadata::MetadataMap::new();
            inject_current(&mut md);
            let out = md.get("traceparent").unwrap().to_str().unwrap();
            assert!(
                out.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{out}"
            );

            // Delivering that row later continues the same trace.
            let delivery = tracing::info_span!("outbox.command");
            adopt_traceparent(&delivery, Some(&stored));
            let _d = delivery.enter();
            let again = current_traceparent().unwrap();
            assert!(
                again.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{again}"
            );
        });
    }
}
