//! JSON success responses and the mapping of handler results to responses.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::errors::{ApiError, Surface};

/// Content-Type of ASP.NET Core's JSON responses.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Builds a 200 JSON response on success, or the error's response for the given surface.
pub(crate) fn respond<T: Serialize>(surface: Surface, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => json_response(StatusCode::OK, JSON_CONTENT_TYPE, &body),
        Err(error) => error.into_response_for(surface),
    }
}

/// Serializes `body` as the response. Serializing the sandbox's plain structs does not fail,
/// but a failure would still produce an empty 500 rather than a panic.
pub(crate) fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: &impl Serialize,
) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(error) => {
            tracing::error!(%error, "failed to serialize a sandbox response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
