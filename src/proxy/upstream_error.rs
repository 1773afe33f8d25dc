//! Sorts the forwarding client's send errors into the proxy's error kinds.

use std::error::Error;

use hyper_util::client::legacy;

use super::connector::ConnectTimeout;
use super::error::ProxyError;
use super::request_body::client_body_failure;
use super::ProxyState;

/// Classifies a failed send: the client's streamed body failed, or the connection to Rekaz
/// could not be made in time or at all, or the exchange broke after connecting.
pub fn classify_send_error(error: &legacy::Error, state: &ProxyState) -> ProxyError {
    // A streamed request body travels inside the client, so the client's failures to send
    // it come back as send errors.
    if let Some(failure) = client_body_failure(error, state.max_request_body) {
        return failure;
    }
    // The kind ("client error (Connect)") adds nothing a person can act on, so the message is
    // built from the sources, which name what failed.
    let cause = error
        .source()
        .map_or_else(|| error.to_string(), error_chain);
    if error.is_connect() {
        let cause = match find_source::<ConnectTimeout>(error) {
            Some(timeout) => timeout.to_string(),
            None => cause,
        };
        return ProxyError::UpstreamUnreachable {
            upstream: state.upstream.url.to_string(),
            cause,
        };
    }
    ProxyError::UpstreamFailed(cause)
}

/// Finds an error of type `E` among `error` and its sources.
pub(crate) fn find_source<'a, E: Error + 'static>(
    error: &'a (dyn Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = error.source();
    }
    None
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
