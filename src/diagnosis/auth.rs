//! Diagnoses of a 401 about the credentials themselves: wrong, revoked, swapped, padded with
//! spaces, or an access token that Rekaz no longer accepts.

use http::header;

use super::access::bearer_token_required;
use super::emit::Diagnosis;
use super::history::CredentialStatus;
use super::Cause;
use super::ExchangeFacts;
use crate::credentials::{ActiveCredentials, AuthMode, SourceReport};

/// Diagnoses a 401 without a tenant error.
pub fn unauthorized(facts: &ExchangeFacts<'_>, known: CredentialStatus) -> Diagnosis {
    let credentials = facts.credentials.map(|credentials| &**credentials);
    if let Some(credentials) = credentials.filter(|credentials| credentials.mode == AuthMode::Token)
    {
        return access_token_rejected(credentials);
    }
    if wants_bearer(facts) {
        return bearer_token_required(facts, known);
    }
    let Some(credentials) = credentials else {
        return credentials_rejected(None, known);
    };
    let padded = padded_values(credentials);
    if !padded.is_empty() {
        return credential_whitespace(credentials, &padded);
    }
    match known {
        CredentialStatus::AcceptedEarlier => credentials_revoked(credentials),
        CredentialStatus::Swapped => key_and_secret_swapped(credentials),
        _ => credentials_rejected(Some(credentials), known),
    }
}

fn wants_bearer(facts: &ExchangeFacts<'_>) -> bool {
    facts
        .response_headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .any(|value| {
            let bytes = value.as_bytes();
            bytes.len() >= 6 && bytes[..6].eq_ignore_ascii_case(b"bearer")
        })
}

fn credentials_rejected(
    credentials: Option<&ActiveCredentials>,
    known: CredentialStatus,
) -> Diagnosis {
    let (key, secret_source, tenant) = credentials.map_or(("-", "-", "-"), |credentials| {
        (
            credentials.key_hint.as_str(),
            credentials.report.api_secret.as_str(),
            credentials.tenant_id.as_str(),
        )
    });
    let mut notes = Vec::new();
    notes.extend(credentials.and_then(line_ending_note));
    if known == CredentialStatus::NotSwapped {
        notes.push("a probe with key and secret swapped was rejected too".to_owned());
    }
    let apply = credentials.map_or("restart the proxy", |credentials| {
        apply_advice(&credentials.report)
    });
    Diagnosis::new(
        Cause::CredentialsRejected,
        "Rekaz rejected the API key and secret (401)",
        format!(
            "Check that the secret in {secret_source} belongs to key {key} and that the key \
             belongs to tenant {tenant}. Regenerating a key in the dashboard revokes the old \
             one at once: store the new key and secret, then {apply}"
        ),
    )
    .with_detail((!notes.is_empty()).then(|| notes.join("; ")))
    .with_credentials(credentials)
}

fn credentials_revoked(credentials: &ActiveCredentials) -> Diagnosis {
    let report = &credentials.report;
    Diagnosis::new(
        Cause::CredentialsRevoked,
        "Rekaz now rejects credentials it accepted earlier in this run (401)",
        format!(
            "The key {} was probably regenerated or deleted in the Rekaz dashboard, which \
             revokes it at once: store the new key and secret in {} and {}, then {}",
            credentials.key_hint,
            report.api_key,
            report.api_secret,
            apply_advice(report)
        ),
    )
    .with_credentials(Some(credentials))
}

/// Diagnoses credentials that Rekaz accepted only with key and secret swapped.
pub fn key_and_secret_swapped(credentials: &ActiveCredentials) -> Diagnosis {
    let report = &credentials.report;
    let mut diagnosis = Diagnosis::new(
        Cause::KeyAndSecretSwapped,
        "The API key and secret are swapped: Rekaz accepted them in reverse order",
        format!(
            "Store the value of {} in {} and the value of {} in {}, then {}",
            report.api_secret,
            report.api_key,
            report.api_key,
            report.api_secret,
            apply_advice(report)
        ),
    )
    .with_credentials(Some(credentials));
    // The configured "key" is really the secret, so even its masked prefix must not be shown.
    if let Some(fields) = &mut diagnosis.credentials {
        fields.key = "****".to_owned();
    }
    diagnosis
}

/// Names the API key or secret whose trailing line break the proxy removed, with its source. The
/// tenant id is left out: it is trimmed before use, and an unknown tenant has its own diagnosis.
fn line_ending_note(credentials: &ActiveCredentials) -> Option<String> {
    let values: Vec<String> = credentials
        .report
        .line_endings_removed
        .iter()
        .filter(|value| **value != "tenant id")
        .map(|value| format!("the {value} from {}", source_of(credentials, value)))
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(format!(
        "the proxy removed a trailing line break from {} and Rekaz still rejected the \
         credentials, so the line break was not the cause",
        values.join(" and ")
    ))
}

/// Returns the key or secret values that begin or end with a space or tab. The tenant id does not
/// count: it is trimmed before use.
fn padded_values(credentials: &ActiveCredentials) -> Vec<&'static str> {
    let report = &credentials.report;
    report
        .surrounding_whitespace
        .iter()
        .copied()
        .filter(|value| *value != "tenant id")
        .collect()
}

fn credential_whitespace(credentials: &ActiveCredentials, padded: &[&str]) -> Diagnosis {
    let values: Vec<String> = padded
        .iter()
        .map(|value| format!("the {value} from {}", source_of(credentials, value)))
        .collect();
    Diagnosis::new(
        Cause::CredentialWhitespace,
        format!(
            "Rekaz rejected the credentials, and {} begins or ends with a space or tab (401)",
            values.join(" and ")
        ),
        "Remove the leading and trailing spaces and tabs from the value; the proxy removes \
         only a trailing line break and Rekaz does not trim the rest",
    )
    .with_credentials(Some(credentials))
}

fn source_of<'a>(credentials: &'a ActiveCredentials, value: &str) -> &'a str {
    let report = &credentials.report;
    match value {
        "API key" => &report.api_key,
        _ => &report.api_secret,
    }
}

/// Diagnoses a 401 in token mode: Rekaz rejected the access token the proxy sent.
fn access_token_rejected(credentials: &ActiveCredentials) -> Diagnosis {
    let report = &credentials.report;
    let username = report.username.as_deref().unwrap_or("-");
    let password = report.password.as_deref().unwrap_or("-");
    Diagnosis::new(
        Cause::CredentialsRejected,
        "Rekaz rejected the access token (401)",
        format!(
            "The proxy renews the token and sends a held request once more after a 401; if \
             this repeats, check the username in {username} and the password in {password}, \
             and that the user belongs to tenant {}",
            credentials.tenant_id
        ),
    )
}

/// Says how new credential values take effect, by where they are read from.
fn apply_advice(report: &SourceReport) -> &'static str {
    let from_environment = [&report.api_key, &report.api_secret]
        .iter()
        .any(|source| source.starts_with("env:"));
    if from_environment {
        "restart the proxy, which reads environment variables only at start"
    } else {
        "let the proxy re-read them: it watches secret files, and SIGHUP re-reads every source"
    }
}
