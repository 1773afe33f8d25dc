//! `X-Correlation-Id` handling and the per-request debug log.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Header that ABP reads from the request and writes to the response.
const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// Copies the request's `X-Correlation-Id` to the response, or sets a new one when the request
/// has none, and logs the exchange at debug level without headers or query.
pub(crate) async fn echo_correlation_id(request: Request, next: Next) -> Response {
    let correlation_id = request
        .headers()
        .get(&CORRELATION_ID)
        .cloned()
        .unwrap_or_else(new_correlation_id);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let mut response = next.run(request).await;

    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        correlation_id = correlation_id.to_str().unwrap_or("<not ASCII>"),
        "sandbox request"
    );
    response
        .headers_mut()
        .insert(CORRELATION_ID, correlation_id);
    response
}

/// Creates a correlation id the way ABP does: a GUID as 32 hex digits.
fn new_correlation_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().simple().to_string();
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("0"))
}
