//! The admin listener: health probes for orchestrators, on an address of its own so that they
//! never pass through the forwarding proxy.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::Authenticator;

/// Builds the admin router: `GET /healthz` and `GET /readyz`.
pub fn router(auth: Arc<Authenticator>) -> Router {
    Router::new()
        .route("/healthz", get(report_health))
        .route("/readyz", get(report_readiness))
        .with_state(auth)
}

/// Responds 200 while the process serves.
async fn report_health() -> Json<Value> {
    Json(json!({ "status": "serving" }))
}

/// Responds 200 when credentials are usable, else 503 with the reason, which names sources and
/// settings but never a value.
async fn report_readiness(State(auth): State<Arc<Authenticator>>) -> (StatusCode, Json<Value>) {
    match auth.readiness() {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reason": reason })),
        ),
    }
}
