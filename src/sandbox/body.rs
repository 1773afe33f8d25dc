//! Reading of JSON request bodies on write endpoints.

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use super::errors::ApiError;

/// Parses the body as a JSON object.
///
/// # Errors
///
/// Returns [`ApiError::MalformedBody`], which Rekaz reports as 500, when the Content-Type is not
/// JSON, the body is not valid JSON, or the JSON is not an object.
pub(crate) fn parse_json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    if !has_json_content_type(headers) {
        tracing::debug!("sandbox write rejected: Content-Type is not JSON");
        return Err(ApiError::MalformedBody);
    }

    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => {
            tracing::debug!("sandbox write rejected: JSON body is not an object");
            Err(ApiError::MalformedBody)
        }
        Err(error) => {
            tracing::debug!(%error, "sandbox write rejected: body is not valid JSON");
            Err(ApiError::MalformedBody)
        }
    }
}

/// Returns true for `application/json`, `text/json` and `application/*+json`, with or without
/// parameters, which are the media types ASP.NET Core's JSON input formatter reads.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(crate::media_type::is_json)
}
