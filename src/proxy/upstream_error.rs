//! Sorts reqwest's send errors into the proxy's error kinds.

use std::error::Error;

use super::error::ProxyError;
use super::request_body::client_body_failure;
use super::ProxyState;

/// Classifies a failed send: the client's streamed body failed, or the connection to Rekaz
/// could not be made, or the exchange broke after connecting.
pub fn classify_send_error(error: reqwest::Error, state: &ProxyState) -> ProxyError {
    let error = error.without_url();
    // A streamed request body travels inside reqwest, so the client's failures to send it
    // come back as send errors.
    if let Some(failure) = client_body_failure(&error, state.max_request_body) {
        return failure;
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
    // The client sets no other reqwest timeout, and the handler bounds the wait for the
    // response headers with `upstream.timeout`; this arm keeps any other timeout named.
    if error.is_timeout() {
        return ProxyError::UpstreamTimeout {
            seconds: state.upstream.timeout.as_secs_f64(),
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

/// Joins an error and its sources, for a message a person can act on. A source whose message
/// repeats the previous one, as wrappers that display their inner error do, is left out.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut previous = message.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if text != previous {
            message.push_str(": ");
            message.push_str(&text);
        }
        previous = text;
        source = cause.source();
    }
    message
}
