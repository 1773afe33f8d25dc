//! A diagnosis and how it is written: one `tracing` event on the `rekaz_proxy::diagnosis`
//! target with fixed fields and a short sentence as the message.

use std::time::Duration;

use super::cause::{Cause, Severity};
use super::rate_limit::Summary;
use crate::credentials::ActiveCredentials;

/// The `tracing` target of every diagnosis line.
pub const TARGET: &str = "rekaz_proxy::diagnosis";

/// The likely cause of one failed exchange and what to do about it. Every text is free of
/// secrets and submitted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The cause.
    pub cause: Cause,
    /// A short sentence saying what happened; the log line's message.
    pub summary: String,
    /// The next step for a person.
    pub hint: String,
    /// Masked specifics, such as the rejected fields and their messages.
    pub detail: Option<String>,
    /// `traceId` from a ProblemDetails body.
    pub trace_id: Option<String>,
    /// Requests in flight to Rekaz when the exchange ended, for timeouts.
    pub in_flight: Option<usize>,
    /// Rekaz's `Retry-After` value.
    pub retry_after: Option<String>,
    /// The credentials used, for causes about them.
    pub credentials: Option<CredentialFields>,
    /// A probe started to refine this diagnosis, such as a request with key and secret swapped.
    pub probe: Option<&'static str>,
}

/// The loggable facts about the credentials in use: a masked key and the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialFields {
    /// Masked key, such as `ab12…`.
    pub key: String,
    /// Source of the key, such as `env:REKAZ_API_KEY`.
    pub key_source: String,
    /// Source of the secret.
    pub secret_source: String,
    /// The tenant id, which is not secret.
    pub tenant_id: String,
}

impl CredentialFields {
    /// Takes the loggable facts from the credentials in use.
    pub fn from_active(credentials: &ActiveCredentials) -> Self {
        CredentialFields {
            key: credentials.key_hint.clone(),
            key_source: credentials.report.api_key.clone(),
            secret_source: credentials.report.api_secret.clone(),
            tenant_id: credentials.tenant_id.clone(),
        }
    }
}

impl Diagnosis {
    /// Creates a diagnosis with only a cause, a summary and a hint.
    pub fn new(cause: Cause, summary: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnosis {
            cause,
            summary: summary.into(),
            hint: hint.into(),
            detail: None,
            trace_id: None,
            in_flight: None,
            retry_after: None,
            credentials: None,
            probe: None,
        }
    }

    /// Adds masked specifics.
    pub fn with_detail(mut self, detail: Option<String>) -> Self {
        self.detail = detail;
        self
    }

    /// Adds a ProblemDetails `traceId`.
    pub fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }

    /// Adds the credential facts.
    pub fn with_credentials(mut self, credentials: Option<&ActiveCredentials>) -> Self {
        self.credentials = credentials.map(CredentialFields::from_active);
        self
    }
}

/// The exchange a line is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineContext {
    /// Status sent to the client.
    pub status: u16,
    /// Request method.
    pub method: String,
    /// Logged request path (query parameter names only).
    pub path: String,
    /// Correlation id shared with Rekaz.
    pub correlation_id: String,
}

/// Emits one event at the level of `$severity` on [`TARGET`].
macro_rules! event_at {
    ($severity:expr, $($arguments:tt)+) => {
        match $severity {
            Severity::Error => tracing::error!(target: TARGET, $($arguments)+),
            Severity::Warn => tracing::warn!(target: TARGET, $($arguments)+),
        }
    };
}

/// Writes a diagnosis in full.
pub fn write_full(context: &LineContext, diagnosis: &Diagnosis) {
    let credentials = diagnosis.credentials.as_ref();
    event_at!(
        diagnosis.cause.severity(),
        status = context.status,
        cause = diagnosis.cause.name(),
        hint = diagnosis.hint.as_str(),
        method = context.method.as_str(),
        path = context.path.as_str(),
        correlation_id = context.correlation_id.as_str(),
        trace_id = diagnosis.trace_id.as_deref(),
        detail = diagnosis.detail.as_deref(),
        in_flight = diagnosis.in_flight,
        retry_after = diagnosis.retry_after.as_deref(),
        key = credentials.map(|fields| fields.key.as_str()),
        key_source = credentials.map(|fields| fields.key_source.as_str()),
        secret_source = credentials.map(|fields| fields.secret_source.as_str()),
        tenant_id = credentials.map(|fields| fields.tenant_id.as_str()),
        probe = diagnosis.probe,
        "{}",
        diagnosis.summary
    );
}

/// Writes the count of diagnoses that the rate limiter held back during one window.
pub fn write_summary(summary: &Summary, window: Duration) {
    let last = &summary.last;
    event_at!(
        summary.cause.severity(),
        status = last.status,
        cause = summary.cause.name(),
        hint = last.hint.as_str(),
        path = last.path.as_str(),
        correlation_id = last.correlation_id.as_str(),
        repeated = summary.count,
        window_seconds = window.as_secs_f64(),
        "{} more failures with cause {} in the last {} s were counted but not logged",
        summary.count,
        summary.cause.name(),
        window.as_secs_f64()
    );
}
