//! Control paths under `/_sandbox`, which are not part of Rekaz. They let a test that runs the
//! sandbox as a separate process check readiness and regenerate the API key.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use serde::Deserialize;

use super::state::SharedState;

/// Body of `POST /_sandbox/api-keys/regenerate`. The strings move into `SecretString`s as soon
/// as the body is parsed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewApiKey {
    api_key: String,
    api_secret: String,
}

/// Builds the `/_sandbox` routes.
pub(crate) fn router(state: Arc<SharedState>) -> Router {
    Router::new()
        .route("/_sandbox/health", get(report_health))
        .route("/_sandbox/api-keys/regenerate", post(regenerate_api_key))
        .with_state(state)
}

/// Handles `GET /_sandbox/health`: 200 once the sandbox accepts connections.
async fn report_health() -> StatusCode {
    StatusCode::OK
}

/// Handles `POST /_sandbox/api-keys/regenerate` with `{"apiKey": ..., "apiSecret": ...}`:
/// replaces the API key like Dashboard > API Keys > Regenerate and responds with 204. A body
/// that is not that JSON object gets 400 with a plain-text reason.
async fn regenerate_api_key(
    State(state): State<Arc<SharedState>>,
    body: Bytes,
) -> Result<StatusCode, (StatusCode, String)> {
    let new_key: NewApiKey = serde_json::from_slice(&body).map_err(|error| {
        let message = format!(
            "invalid API key body: {error}. Expected {{\"apiKey\":\"...\",\"apiSecret\":\"...\"}}."
        );
        (StatusCode::BAD_REQUEST, message)
    })?;

    state.replace_credentials(
        SecretString::from(new_key.api_key),
        SecretString::from(new_key.api_secret),
    );
    tracing::debug!("sandbox API key regenerated");
    Ok(StatusCode::NO_CONTENT)
}
