//! The credentials in use: checked values turned into ready header values, built once per change.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::error::CredentialError;
use super::source::SourceValue;
use super::CredentialSpecs;
use crate::env::EnvVars;

/// Headers to inject, plus what the logs may say about them.
pub struct ActiveCredentials {
    authorization: HeaderValue,
    tenant: HeaderValue,
    /// Masked form of the API key, safe for logs (`ab12…`).
    pub key_hint: String,
    /// The tenant id; not secret.
    pub tenant_id: String,
    /// Where each value came from, for start-up logs and diagnoses.
    pub report: SourceReport,
}

/// Where each credential value came from and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// Source of the API key, as `env:NAME` or `file:/path`.
    pub api_key: String,
    /// Source of the API secret.
    pub api_secret: String,
    /// Source of the tenant id.
    pub tenant_id: String,
    /// Values whose trailing CR/LF was removed (`API key`, `API secret`, `tenant id`).
    pub line_endings_removed: Vec<&'static str>,
    /// Values that begin or end with a space or tab, which Rekaz will not ignore.
    pub surrounding_whitespace: Vec<&'static str>,
}

impl ActiveCredentials {
    /// Reads every source and builds the headers. Fails on the first unreadable or invalid
    /// value, naming its source.
    pub fn read(specs: &CredentialSpecs, env: &EnvVars) -> Result<Self, CredentialError> {
        let key = specs.api_key.read(env)?;
        let secret = specs.api_secret.read(env)?;
        let tenant = specs.tenant_id.read(env)?;

        let key_source = specs.api_key.to_string();
        let tenant_source = specs.tenant_id.to_string();
        validate_key(key.value.expose_secret(), &key_source)?;
        validate_secret(secret.value.expose_secret(), &specs.api_secret.to_string())?;
        let tenant_id = validate_tenant(tenant.value.expose_secret(), &tenant_source)?;

        let report = SourceReport {
            api_key: key_source,
            api_secret: specs.api_secret.to_string(),
            tenant_id: tenant_source,
            line_endings_removed: flagged(&key, &secret, &tenant, |v| v.line_ending_removed),
            surrounding_whitespace: flagged(&key, &secret, &tenant, has_surrounding_whitespace),
        };
        Ok(ActiveCredentials {
            authorization: basic_header(&key.value, &secret.value),
            tenant: HeaderValue::from_str(&tenant_id).map_err(|_| invalid_tenant(&report))?,
            key_hint: mask_key(key.value.expose_secret()),
            tenant_id,
            report,
        })
    }

    /// The `Authorization: Basic ...` value, marked sensitive so hyper and tracing hide it.
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// The `__tenant` header value.
    pub fn tenant_header(&self) -> &HeaderValue {
        &self.tenant
    }

    /// Returns whether `other` would send the same headers.
    pub fn same_values(&self, other: &ActiveCredentials) -> bool {
        self.authorization == other.authorization && self.tenant == other.tenant
    }
}

/// Never prints the header values.
impl fmt::Debug for ActiveCredentials {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ActiveCredentials")
            .field("authorization", &"<redacted>")
            .field("key_hint", &self.key_hint)
            .field("tenant_id", &self.tenant_id)
            .field("report", &self.report)
            .finish()
    }
}

fn basic_header(key: &SecretString, secret: &SecretString) -> HeaderValue {
    let pair = SecretString::from(format!(
        "{}:{}",
        key.expose_secret(),
        secret.expose_secret()
    ));
    let encoded = SecretString::from(format!("Basic {}", STANDARD.encode(pair.expose_secret())));
    let mut value = HeaderValue::from_str(encoded.expose_secret())
        .expect("base64 output and the Basic prefix are valid header bytes");
    value.set_sensitive(true);
    value
}

/// Shows the first four characters of a key of eight or more, and nothing of a shorter one.
pub(crate) fn mask_key(key: &str) -> String {
    if key.chars().count() < 8 {
        return "****".to_owned();
    }
    let prefix: String = key.chars().take(4).collect();
    format!("{prefix}…")
}

fn validate_key(key: &str, source: &str) -> Result<(), CredentialError> {
    if key.contains(':') {
        return Err(invalid("API key", source, "contains ':', which Basic authentication uses to separate key and secret; check that key and secret are not joined or swapped"));
    }
    reject_control_characters("API key", key, source)
}

fn validate_secret(secret: &str, source: &str) -> Result<(), CredentialError> {
    reject_control_characters("API secret", secret, source)
}

fn validate_tenant(tenant: &str, source: &str) -> Result<String, CredentialError> {
    let tenant = tenant.trim();
    if uuid::Uuid::try_parse(tenant).is_err() {
        return Err(CredentialError::Invalid {
            what: "tenant id",
            source_name: source.to_owned(),
            problem: format!(
                "{tenant:?} is not a GUID; copy the tenant id (like \
                 3a1f3638-e6dc-d864-4aa7-df60cdbb1146) from the Rekaz dashboard"
            ),
        });
    }
    Ok(tenant.to_owned())
}

fn reject_control_characters(
    what: &'static str,
    value: &str,
    source: &str,
) -> Result<(), CredentialError> {
    if value.chars().any(char::is_control) {
        return Err(invalid(
            what,
            source,
            "contains a control character such as a line break inside the value; store the value alone on one line",
        ));
    }
    Ok(())
}

fn invalid(what: &'static str, source: &str, problem: &str) -> CredentialError {
    CredentialError::Invalid {
        what,
        source_name: source.to_owned(),
        problem: problem.to_owned(),
    }
}

fn invalid_tenant(report: &SourceReport) -> CredentialError {
    invalid(
        "tenant id",
        &report.tenant_id,
        "is not a valid header value",
    )
}

fn has_surrounding_whitespace(value: &SourceValue) -> bool {
    let text = value.value.expose_secret();
    text.starts_with([' ', '\t']) || text.ends_with([' ', '\t'])
}

fn flagged(
    key: &SourceValue,
    secret: &SourceValue,
    tenant: &SourceValue,
    test: impl Fn(&SourceValue) -> bool,
) -> Vec<&'static str> {
    [
        (key, "API key"),
        (secret, "API secret"),
        (tenant, "tenant id"),
    ]
    .into_iter()
    .filter(|(value, _)| test(value))
    .map(|(_, name)| name)
    .collect()
}
