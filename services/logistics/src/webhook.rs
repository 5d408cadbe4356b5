//! The carrier webhook (port 8080): the JSON twin of ReportCarrierEvent for partners
//! that do not speak gRPC. The partner is identified by `X-Partner-Id`, authenticated by
//! an HMAC over `X-Timestamp + "." + body` (the exact bytes received) under one of its
//! active secrets, and limited to its own carriers. Answers: 200 (also for duplicates),
//! 400 invalid body, 401 bad or missing signature, 403 another carrier's event,
//! 413 body too large, 503 retry later. A refused request writes nothing.

use std::sync::Arc;

use aftersales_proto::aftersales::logistics::v1::ReportCarrierEventRequest;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{
        signature::{self, Refusal},
        status::Reported,
    },
    ingest, parse,
    settings::Settings,
};

/// Binds the webhook's address (at start-up, so a taken port fails the service).
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("LOGISTICS_WEBHOOK_LISTEN {addr}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "carrier webhook listening");
    Ok(listener)
}

struct Hook {
    pool: PgPool,
    settings: Arc<Settings>,
}

/// The webhook's routes.
fn router(pool: PgPool, settings: Arc<Settings>) -> Router {
    let limit = settings.max_body;
    Router::new()
        .route("/v1/carriers/{carrier}/events", post(report))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(Arc::new(Hook { pool, settings }))
}

/// Serves the webhook on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    settings: Arc<Settings>,
    shutdown: CancellationToken,
) {
    let app = router(pool, settings);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "carrier webhook stopped");
    }
}

/// The proto3 JSON form of ReportCarrierEventRequest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Body {
    event_id: String,
    #[serde(default)]
    carrier_code: String,
    tracking_number: String,
    status: String,
    event_time: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    description: String,
}

fn refuse(code: StatusCode, reason: &str, message: impl Into<String>) -> Response {
    let body =
        json!({"error": {"code": code.as_u16(), "reason": reason, "message": message.into()}});
    (code, Json(body)).into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[tracing::instrument(skip_all, fields(carrier = %carrier))]
async fn report(
    State(hook): State<Arc<Hook>>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let settings = &hook.settings;
    // 1. Who is calling, and is it really them? Nothing about the body is trusted before.
    let Some(partner) = header(&headers, "x-partner-id").and_then(|id| settings.partners.get(id))
    else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "UNKNOWN_PARTNER",
            "X-Partner-Id missing or unknown",
        );
    };
    let (Some(ts), Some(sig)) = (
        header(&headers, "x-timestamp"),
        header(&headers, "x-signature"),
    ) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "SIGNATURE_MISSING",
            "X-Timestamp and X-Signature are required",
        );
    };
    let now = chrono::Utc::now().timestamp();
    let tolerance = settings.signature_tolerance.as_secs() as i64;
    match signature::verify(&partner.secrets, ts, sig, &body, now, tolerance) {
        Ok(()) => {}
        Err(Refusal::Stale) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "STALE_TIMESTAMP",
                "X-Timestamp outside the tolerance window",
            );
        }
        Err(Refusal::BadSignature) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "BAD_SIGNATURE",
                "signature does not verify",
            );
        }
        Err(Refusal::Malformed(m)) => {
            return refuse(StatusCode::UNAUTHORIZED, "SIGNATURE_MALFORMED", m);
        }
    }
    // 2. Is the body an event?
    let parsed: Body = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "MALFORMED_BODY", e.to_string()),
    };
    let path_carrier = carrier.to_ascii_lowercase();
    if !parsed.carrier_code.is_empty() && !parsed.carrier_code.eq_ignore_ascii_case(&path_carrier) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "CARRIER_MISMATCH",
            "carrierCode differs from the path",
        );
    }
    let Some(status) = Reported::parse(&parsed.status) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            "status: unknown carrier event status",
        );
    };
    let Ok(time) = chrono::DateTime::parse_from_rfc3339(&parsed.event_time) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            "eventTime: RFC 3339 expected",
        );
    };
    let request = ReportCarrierEventRequest {
        event_id: parsed.event_id,
        carrier_code: path_carrier.clone(),
        tracking_number: parsed.tracking_number,
        status: status as i32,
        event_time: Some(kit::time::ts(time.to_utc())),
        location: parsed.location,
        description: parsed.description,
    };
    let mut event = match parse::carrier_event(&request, settings) {
        Ok(e) => e,
        Err(kit::Error::InvalidArgument(v)) => {
            let fields: Vec<_> = v
                .iter()
                .map(|f| format!("{}: {}", f.field, f.description))
                .collect();
            return refuse(StatusCode::BAD_REQUEST, "INVALID_FIELD", fields.join("; "));
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "INVALID_FIELD", e.to_string()),
    };
    // 3. May this partner report for this carrier?
    if !partner.reports_for(&event.carrier_code) {
        return refuse(
            StatusCode::FORBIDDEN,
            "NOT_YOUR_CARRIER",
            "the partner does not report for this carrier",
        );
    }
    event.reporter_role = "partner".into();
    event.reporter_id = partner.id.clone();
    match ingest::report(&hook.pool, settings.late_tolerance, &event).await {
        Ok((duplicate, shipment)) => {
            Json(json!({"duplicate": duplicate, "shipment": shipment.unwrap_or_default()}))
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "webhook event not stored");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "RETRY_LATER",
                "not stored; retry later",
            )
        }
    }
}
