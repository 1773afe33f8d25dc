//! Diagnoses of failed Rekaz calls: one log line that names the likely cause and the next step.
//!
//! [`Diagnostics::examine`] reads each exchange that did not end in 2xx: the status, Rekaz's
//! headers, the first bytes of its body, and what the proxy recorded about the request and the
//! credentials. It writes one WARN or ERROR line on the `rekaz_proxy::diagnosis` target, with
//! the fields `status`, `cause`, `hint`, `path`, `correlation_id` and, when Rekaz sent one,
//! `trace_id`. No secret and no submitted value reaches the line.

mod access;
mod auth;
mod body;
mod cause;
mod classify;
mod clients;
mod counters;
mod emit;
mod field_hints;
mod history;
mod mask;
mod probe;
mod proxy_failure;
mod rate_limit;
mod redact;
mod rejected;
mod reporter;
mod server_errors;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

pub use cause::{Cause, Severity};
pub use clients::ClientIdentity;
pub use counters::CauseCounters;
pub use emit::TARGET;
pub use mask::mask_values;
pub use probe::{SwapProbe, PROBE_PATH};

use crate::credentials::{ActiveCredentials, AuthMode};
use crate::proxy::{ProxyError, StrippedClientCredentials};
use clients::SeenClients;
use emit::{write_full, LineContext};
use history::{CredentialHistory, CredentialStatus, ProbeOutcome};
use reporter::Reporter;

/// Window in which repeats of one cause are counted instead of logged, unless configured.
pub const DEFAULT_REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// Response header in which Rekaz echoes the correlation id.
const CORRELATION_ID: &str = "x-correlation-id";

/// Maximum length of a correlation id taken from Rekaz's response, in bytes.
const MAX_CORRELATION_ID_BYTES: usize = 128;

/// Path prefix of the documented merchant API, which always requires the API key.
const PUBLIC_API_PREFIX: &str = "/api/public/";

/// The facts of one exchange that a diagnosis may use.
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
    pub credentials: Option<&'a Arc<ActiveCredentials>>,
    /// The User-Agent the proxy sent to Rekaz (`upstream.user_agent`).
    pub user_agent: &'a HeaderValue,
    /// The client's peer address, when the server recorded it.
    pub peer_ip: Option<IpAddr>,
    /// The User-Agent the client sent to the proxy.
    pub client_user_agent: Option<&'a HeaderValue>,
    /// Correlation id sent to Rekaz.
    pub correlation_id: &'a str,
    /// The proxy's own failure, if the exchange failed in the proxy.
    pub proxy_error: Option<&'a ProxyError>,
    /// Requests in flight to Rekaz when the exchange ended, this one included.
    pub in_flight: usize,
}

/// Diagnosis state shared by all exchanges: counters, rate limits and credential history.
#[derive(Debug)]
pub struct Diagnostics {
    reporter: Arc<Reporter>,
    history: Arc<CredentialHistory>,
    clients: SeenClients,
    probe: Option<SwapProbe>,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Self::new(DEFAULT_REPEAT_WINDOW)
    }
}

impl Diagnostics {
    /// Creates the diagnosis state; repeats of a cause within `repeat_window` are counted and
    /// summarised in one line per window.
    pub fn new(repeat_window: Duration) -> Self {
        Diagnostics {
            reporter: Arc::new(Reporter::new(repeat_window)),
            history: Arc::new(CredentialHistory::default()),
            clients: SeenClients::default(),
            probe: None,
        }
    }

    /// Enables the probe that checks, after a 401, whether key and secret are swapped.
    pub fn with_probe(mut self, probe: SwapProbe) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Reads a finished exchange. Remembers credentials that Rekaz accepted, logs once per
    /// client that the client's own credentials were removed, and logs a diagnosis when the
    /// exchange failed (any status but 1xx, 2xx and 304).
    pub fn examine(&self, facts: &ExchangeFacts<'_>) {
        self.note_client_credentials(facts);
        let status = facts.status;
        if status.is_success() {
            self.note_success(facts);
            return;
        }
        if status.is_informational() || status == StatusCode::NOT_MODIFIED {
            return;
        }
        self.diagnose_failure(facts);
    }

    /// Returns how many times `cause` was diagnosed since start.
    pub fn count(&self, cause: Cause) -> u64 {
        self.reporter.counters().get(cause)
    }

    /// Returns every cause with its count since start, for a metrics endpoint.
    pub fn counts(&self) -> Vec<(Cause, u64)> {
        self.reporter.counters().snapshot()
    }

    fn diagnose_failure(&self, facts: &ExchangeFacts<'_>) {
        // Rekaz may echo what it was sent, so its texts lose the proxy's secrets before use.
        let redactor = facts
            .credentials
            .map(|credentials| credentials.redactor())
            .unwrap_or_default();
        let response_headers = redact::redact_headers(facts.response_headers, &redactor);
        let facts = &ExchangeFacts {
            response_headers: &response_headers,
            ..*facts
        };
        let body = match facts.proxy_error {
            Some(_) => body::ErrorBody::Empty,
            None => body::parse(facts.body_prefix, &redactor),
        };
        let known = facts
            .credentials
            .map_or(CredentialStatus::Unknown, |credentials| {
                self.history.status(credentials)
            });
        let mut diagnosis = classify::classify(facts, &body, known);
        redact::redact_diagnosis(&mut diagnosis, &redactor);
        let context = line_context(facts);

        let probe_credentials = facts
            .credentials
            .filter(|credentials| credentials.mode == AuthMode::Basic)
            .filter(|_| diagnosis.cause == Cause::CredentialsRejected)
            .filter(|_| known == CredentialStatus::Unknown)
            .filter(|_| self.probe.is_some())
            .filter(|credentials| self.history.claim_probe(credentials));
        if probe_credentials.is_some() {
            diagnosis.probe = Some("key_and_secret_swapped");
            diagnosis
                .summary
                .push_str("; one probe with key and secret swapped was sent to check for a mix-up");
        }
        self.reporter.report(&context, &diagnosis);
        if let Some(credentials) = probe_credentials {
            self.spawn_probe(Arc::clone(credentials), context);
        }
    }

    /// Remembers credentials that `/api/public` accepted, so a later 401 with the same ones can
    /// be recognised as a revoked key. Other paths prove nothing, because some `/api/app` reads
    /// succeed without any credentials.
    fn note_success(&self, facts: &ExchangeFacts<'_>) {
        if let Some(credentials) = facts.credentials {
            if facts.target.starts_with(PUBLIC_API_PREFIX) {
                self.history.note_accepted(credentials);
            }
        }
    }

    /// Logs, once per client, that the client sent its own `Authorization` or `__tenant`,
    /// which the proxy removed. Every occurrence is counted.
    fn note_client_credentials(&self, facts: &ExchangeFacts<'_>) {
        let stripped = facts.client_credentials;
        if !stripped.authorization && !stripped.tenant {
            return;
        }
        self.reporter.count(Cause::ClientCredentialsStripped);
        let client = ClientIdentity::new(facts.peer_ip, facts.client_user_agent);
        if self.clients.first_sighting(&client) {
            let diagnosis = access::client_credentials_stripped(&client, stripped);
            write_full(&line_context(facts), &diagnosis);
        }
    }

    /// Sends the swap probe in the background; the client's response is not held up.
    fn spawn_probe(&self, credentials: Arc<ActiveCredentials>, context: LineContext) {
        let (Some(probe), Ok(runtime)) =
            (self.probe.clone(), tokio::runtime::Handle::try_current())
        else {
            self.history
                .record_probe(&credentials, ProbeOutcome::Inconclusive);
            return;
        };
        let history = Arc::clone(&self.history);
        let reporter = Arc::clone(&self.reporter);
        runtime.spawn(async move {
            let outcome = probe.send(&credentials).await;
            let outcome = report_probe(outcome, &credentials, &reporter, &context);
            history.record_probe(&credentials, outcome);
        });
    }
}

/// Logs what the swap probe found and returns the outcome to remember.
fn report_probe(
    outcome: Result<Option<StatusCode>, String>,
    credentials: &ActiveCredentials,
    reporter: &Reporter,
    context: &LineContext,
) -> ProbeOutcome {
    match outcome {
        Ok(Some(status)) if status.is_success() => {
            reporter.report(context, &auth::key_and_secret_swapped(credentials));
            ProbeOutcome::Swapped
        }
        Ok(Some(status)) => {
            tracing::info!(
                target: TARGET,
                probe_status = status.as_u16(),
                correlation_id = context.correlation_id.as_str(),
                "the probe with key and secret swapped was rejected too, so they are not swapped"
            );
            ProbeOutcome::NotSwapped
        }
        Ok(None) => ProbeOutcome::Inconclusive,
        Err(error) => {
            tracing::warn!(
                target: TARGET,
                error = error.as_str(),
                correlation_id = context.correlation_id.as_str(),
                "the probe with key and secret swapped got no answer from Rekaz"
            );
            ProbeOutcome::Inconclusive
        }
    }
}

fn line_context(facts: &ExchangeFacts<'_>) -> LineContext {
    let echoed = facts
        .response_headers
        .get(CORRELATION_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= MAX_CORRELATION_ID_BYTES);
    LineContext {
        status: facts.status.as_u16(),
        method: facts.method.to_string(),
        path: facts.target.to_owned(),
        correlation_id: echoed.unwrap_or(facts.correlation_id).to_owned(),
    }
}

/// Returns the peer address of a request, when the server recorded it.
pub fn peer_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}
