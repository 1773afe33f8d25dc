//! The admin listener: health probes for orchestrators and Prometheus metrics, on an address of
//! its own so that they never pass through the forwarding proxy.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::Authenticator;
use crate::metrics::Gauges;
use crate::proxy::ProxyState;

/// Content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Builds the admin router: `GET /healthz`, `GET /readyz` and `GET /metrics`.
pub fn router(auth: Arc<Authenticator>, proxy: Arc<ProxyState>) -> Router {
    let state = (Arc::clone(&auth), proxy);
    let probes = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/readyz", get(report_readiness))
        .with_state(state);
    Router::new()
        .route("/healthz", get(report_health))
        .with_state(auth)
        .merge(probes)
}

/// Renders the exchange counters, the latency histogram and the gauges. Labels carry methods,
/// status codes and cause names, never a path, a value or a credential.
async fn render_metrics(
    State((auth, proxy)): State<(Arc<Authenticator>, Arc<ProxyState>)>,
) -> ([(http::HeaderName, &'static str); 1], String) {
    let diagnoses: Vec<(&'static str, u64)> = proxy
        .diagnostics()
        .counts()
        .into_iter()
        .map(|(cause, count)| (cause.name(), count))
        .collect();
    let gauges = Gauges {
        in_flight: proxy.in_flight().count(),
        ready: auth.readiness().is_ok(),
        diagnoses: &diagnoses,
    };
    let body = proxy.metrics().render(&gauges);
    ([(http::header::CONTENT_TYPE, PROMETHEUS_TEXT)], body)
}

/// Responds 200 while the process serves.
async fn report_health() -> Json<Value> {
    Json(json!({ "status": "serving" }))
}

/// Responds 200 when credentials are usable, else 503 with the reason, which names sources and
/// settings but never a value. Once shutdown has begun it responds 503 `shutting_down`, so an
/// orchestrator stops routing to the proxy while requests in flight finish.
async fn report_readiness(
    State((auth, proxy)): State<(Arc<Authenticator>, Arc<ProxyState>)>,
) -> (StatusCode, Json<Value>) {
    if proxy.is_shutting_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting_down" })),
        );
    }
    match auth.readiness() {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": reason })),
        ),
    }
}
