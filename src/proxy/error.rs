//! Failures of the proxy itself, mapped to client responses in one place.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::json;
use thiserror::Error;

/// A failure that kept the proxy from delivering Rekaz's response. Messages never contain a secret.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The request target is malformed or climbs out with dot segments. The message shows the
    /// path without its query, whose values can be personal data.
    #[error("invalid request path {:?}: {reason}", without_query(path))]
    InvalidPath {
        /// The path as received.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The method is one the proxy never forwards: `CONNECT` would open a tunnel, and `TRACE`
    /// or `TRACK` would echo the injected credentials back to the client.
    #[error("the proxy does not forward {method} requests; send the request to a Rekaz path")]
    MethodNotAllowed {
        /// The method as received.
        method: String,
    },

    /// The `Host` header names a host the proxy does not answer for; a web page reaching the
    /// proxy through DNS rebinding looks like this.
    #[error("Host {host:?} is not allowed: the proxy answers for loopback names and IP addresses only, so that a web page cannot reach it through DNS rebinding; add the name to guard.allowed_hosts if your clients use it")]
    HostNotAllowed {
        /// The host as received, without port.
        host: String,
    },

    /// The request carries an `Origin` header, so a browser sent it, and that origin is not
    /// allowed to spend the Rekaz key.
    #[error("requests from the browser origin {origin:?} are not allowed; add it to guard.allowed_origins if that page should call Rekaz through the proxy")]
    OriginNotAllowed {
        /// The `Origin` header as received.
        origin: String,
    },

    /// A browser sent the request, without `Origin`, for a page of another site, such as an
    /// image that a web page points at the proxy.
    #[error("requests that a browser sends for a page of another site (Sec-Fetch-Site: cross-site) are not allowed; call Rekaz through the proxy from a backend service")]
    CrossSiteRequest,

    /// The request body is larger than `limits.max_request_body_bytes`.
    #[error("request body is larger than the {limit}-byte limit (limits.max_request_body_bytes)")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// Reading the request body from the client failed.
    #[error("reading the request body from the client failed: {0}")]
    ClientBody(String),

    /// No connection to Rekaz could be made.
    #[error("cannot connect to the Rekaz API at {upstream}: {cause}")]
    UpstreamUnreachable {
        /// Upstream base URL.
        upstream: String,
        /// The connection error, with its sources.
        cause: String,
    },

    /// Rekaz sent no response headers within `upstream.timeout`.
    #[error(
        "the Rekaz API sent no response headers within {seconds} s (upstream.timeout); if \
         Rekaz is this slow, raise upstream.timeout"
    )]
    UpstreamTimeout {
        /// `upstream.timeout`, in seconds.
        seconds: f64,
    },

    /// The exchange with Rekaz failed after connecting.
    #[error("the exchange with the Rekaz API failed: {0}")]
    UpstreamFailed(String),

    /// No usable credentials are available.
    #[error("no usable Rekaz credentials: {0}")]
    CredentialsUnavailable(String),
}

impl ProxyError {
    /// Returns the status code and a stable machine-readable code for the client.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ProxyError::InvalidPath { .. } => (StatusCode::BAD_REQUEST, "invalid_path"),
            ProxyError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ProxyError::HostNotAllowed { .. } => (StatusCode::FORBIDDEN, "host_not_allowed"),
            ProxyError::OriginNotAllowed { .. } => (StatusCode::FORBIDDEN, "origin_not_allowed"),
            ProxyError::CrossSiteRequest => (StatusCode::FORBIDDEN, "cross_site_request"),
            ProxyError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ProxyError::ClientBody(_) => (StatusCode::BAD_REQUEST, "client_body_failed"),
            ProxyError::UpstreamUnreachable { .. } => {
                (StatusCode::BAD_GATEWAY, "upstream_unreachable")
            }
            ProxyError::UpstreamTimeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
            ProxyError::UpstreamFailed(_) => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            ProxyError::CredentialsUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "credentials_unavailable")
            }
        }
    }
}

/// Returns `path` up to its query, if any.
fn without_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(path, _)| path)
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_path_message_has_no_query_value() {
        let error = ProxyError::InvalidPath {
            path: "?mobile=0512345678".to_owned(),
            reason: "the request target must be a path that starts with /".to_owned(),
        };

        let message = error.to_string();

        assert!(!message.contains("0512345678"), "{message}");
        assert!(message.contains("must be a path"), "{message}");
    }

    #[test]
    fn timeout_message_names_upstream_timeout_only() {
        let message = ProxyError::UpstreamTimeout { seconds: 20.0 }.to_string();

        assert!(message.contains("within 20 s"), "{message}");
        assert!(message.contains("upstream.timeout"), "{message}");
        assert!(!message.contains("read_timeout"), "{message}");
    }
}
