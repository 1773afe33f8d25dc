//! The CDN in front of Rekaz, which blocks requests by User-Agent before they reach the API.

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Body of the CDN's block page, without a trailing newline.
const BLOCK_BODY: &str = "error code: 1010";

/// Lower-case fragments of User-Agents that the CDN treats as Python clients.
const BLOCKED_AGENT_FRAGMENTS: [&str; 2] = ["python", "aiohttp"];

/// Answers 403 with `error code: 1010` when the User-Agent is missing, empty or looks like a
/// Python HTTP client (`Python-urllib`, `python-requests`, `python-httpx`, `aiohttp`).
pub(crate) async fn block_user_agents(request: Request, next: Next) -> Response {
    if is_blocked(request.headers()) {
        tracing::debug!(path = request.uri().path(), "CDN blocked the User-Agent");
        return blocked_response();
    }

    next.run(request).await
}

/// Returns true when the CDN would block a request with these headers.
fn is_blocked(headers: &HeaderMap) -> bool {
    let Some(agent) = headers.get(header::USER_AGENT) else {
        return true;
    };

    let agent = agent.as_bytes().to_ascii_lowercase();
    if agent.iter().all(u8::is_ascii_whitespace) {
        return true;
    }

    BLOCKED_AGENT_FRAGMENTS
        .iter()
        .any(|fragment| contains(&agent, fragment.as_bytes()))
}

/// Returns true when `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Builds the CDN's plain-text 403.
fn blocked_response() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain")],
        BLOCK_BODY,
    )
        .into_response()
}
