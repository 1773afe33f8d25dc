//! Diagnoses of failed Rekaz calls: one log line that names the likely cause and the next step.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::credentials::ActiveCredentials;
use crate::proxy::{ProxyError, StrippedClientCredentials};

/// What the proxy saw of one exchange; everything a diagnosis may use.
pub struct ExchangeFacts<'a> {
    /// Request method.
    pub method: &'a Method,
    /// Request path with query parameter names only.
    pub target: &'a str,
    /// Status sent to the client.
    pub status: StatusCode,
    /// Rekaz's response headers; empty when the proxy itself failed.
    pub response_headers: &'a HeaderMap,
    /// The first bytes of Rekaz's response body (error responses only).
    pub body_prefix: &'a [u8],
    /// The request body, when it was small enough to hold.
    pub request_body: Option<&'a Bytes>,
    /// Whether the request body streamed through unheld.
    pub request_streamed: bool,
    /// The request's Content-Type.
    pub request_content_type: Option<&'a HeaderValue>,
    /// Credentials the client sent itself, which were removed.
    pub client_credentials: StrippedClientCredentials,
    /// The credentials injected, if the request got that far.
    pub credentials: Option<&'a ActiveCredentials>,
    /// Correlation id sent to Rekaz.
    pub correlation_id: &'a str,
    /// The proxy's own failure, if the exchange failed in the proxy.
    pub proxy_error: Option<&'a ProxyError>,
    /// Requests in flight to Rekaz when the exchange ended.
    pub in_flight: usize,
}

/// Diagnosis state shared by all exchanges.
#[derive(Debug, Default)]
pub struct Diagnostics {}

impl Diagnostics {
    /// Creates the diagnosis state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logs a diagnosis for an exchange that failed.
    pub fn examine(&self, facts: &ExchangeFacts<'_>) {
        if facts.status == StatusCode::UNAUTHORIZED {
            diagnose_unauthorized(facts);
        }
    }
}

fn diagnose_unauthorized(facts: &ExchangeFacts<'_>) {
    // TODO: replace with the full catalogue of causes.
    let Some(credentials) = facts.credentials else {
        return;
    };
    tracing::warn!(
        target: "rekaz_proxy::diagnosis",
        status = 401,
        cause = "credentials_rejected",
        path = facts.target,
        key = %credentials.key_hint,
        key_source = %credentials.report.api_key,
        secret_source = %credentials.report.api_secret,
        "Rekaz rejected the credentials"
    );
}
