//! The forwarding proxy: header hygiene, target mapping, the upstream client and the handler.

mod body_end;
mod body_timeout;
mod client;
mod connector;
mod error;
mod exchange;
mod forward;
mod guard;
mod headers;
mod in_flight;
mod replay;
mod request_body;
mod target;
mod tls;
mod upstream_error;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

pub use client::{ClientError, ExtraRoots, OwnCallsClient, UpstreamClient};
pub use error::ProxyError;
pub use guard::Guard;
pub use headers::{prepare_request_headers, prepare_response_headers, StrippedClientCredentials};
pub use in_flight::InFlight;
pub use request_body::HELD_BODY_MAX_BYTES;
pub use upstream_error::error_chain;

use crate::auth::Authenticator;
use crate::config::{Limits, UpstreamSettings};
use crate::diagnosis::Diagnostics;
use crate::metrics::Metrics;

/// Shared state of the forwarding handler.
pub struct ProxyState {
    client: UpstreamClient,
    upstream: UpstreamSettings,
    auth: Arc<Authenticator>,
    diagnostics: Arc<Diagnostics>,
    metrics: Arc<Metrics>,
    guard: Guard,
    in_flight: InFlight,
    max_request_body: usize,
    max_request_body_pause: Duration,
    shutting_down: AtomicBool,
}

impl ProxyState {
    /// Builds the state; `client` should come from [`UpstreamClient::build`] with the same
    /// `upstream`.
    /// Request bodies are bounded by `limits.max_request_body_bytes` in size and by
    /// `limits.client_idle_timeout` in pauses.
    pub fn new(
        client: UpstreamClient,
        upstream: UpstreamSettings,
        auth: Arc<Authenticator>,
        diagnostics: Arc<Diagnostics>,
        limits: &Limits,
    ) -> Self {
        ProxyState {
            client,
            upstream,
            auth,
            diagnostics,
            metrics: Arc::new(Metrics::new()),
            guard: Guard::default(),
            in_flight: InFlight::default(),
            max_request_body: limits.max_request_body_bytes,
            max_request_body_pause: limits.client_idle_timeout,
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Replaces the default guard, which accepts only loopback names and IP addresses in `Host`
    /// and no browser `Origin`.
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// Requests sent to Rekaz whose response has not ended.
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// Exchange counters, for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Diagnosis state, for the per-cause counters in `/metrics`.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Records that the server stopped taking new work, so readiness probes fail while the
    /// requests in flight finish.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Whether [`ProxyState::begin_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }
}

/// Builds the proxy's router: every method and path goes to the forwarding handler.
///
/// The handler enforces `limits.max_request_body_bytes` itself, so a body over the limit gets
/// the proxy's JSON error and an access log line like any other failure.
pub fn router(state: Arc<ProxyState>) -> Router {
    Router::new().fallback(forward::forward).with_state(state)
}
