//! Sorts reqwest's send errors into the proxy's error kinds.

use std::error::Error as _;

use super::error::ProxyError;
use super::request_body::is_length_limit;
use super::ProxyState;

/// Classifies a failed send: over the body limit, timed out, unreachable, or failed mid-way.
pub fn classify_send_error(error: reqwest::Error, state: &ProxyState) -> ProxyError {
    let error = error.without_url();
    if is_length_limit(&error) {
        return ProxyError::BodyTooLarge {
            limit: state.max_request_body,
        };
    }
    // reqwest 0.12 reports a connect timeout as both a connect and a timeout error.
    if error.is_timeout() && error.is_connect() {
        return ProxyError::UpstreamUnreachable {
            upstream: state.upstream.url.to_string(),
            cause: format!(
                "no connection within {} s (upstream.connect_timeout)",
                state.upstream.connect_timeout.as_secs_f64()
            ),
        };
    }
    // Any other timeout from reqwest is its read timeout, which also bounds the wait for
    // response headers. The handler enforces `upstream.timeout` around the whole send.
    if error.is_timeout() {
        return ProxyError::UpstreamTimeout {
            seconds: state.upstream.read_timeout.as_secs_f64(),
        };
    }
    if error.is_connect() {
        return ProxyError::UpstreamUnreachable {
            upstream: state.upstream.url.to_string(),
            cause: error_chain(&error),
        };
    }
    ProxyError::UpstreamFailed(error_chain(&error))
}

/// Joins an error and its sources, for a message a person can act on.
pub fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
