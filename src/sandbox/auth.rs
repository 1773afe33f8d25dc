//! Authentication of `/api/public` and `/api/app` requests.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::ExposeSecret;

use super::state::{ApiKey, SharedState};
use super::tenant::{resolve_tenant, TenantError};
use super::token_store::TokenStatus;

/// Challenge that ABP sends on `/api/app` when the caller is not logged in.
const BEARER_CHALLENGE: HeaderValue = HeaderValue::from_static("Bearer");

/// Credential found in the `Authorization` header.
enum Credential<'a> {
    /// `Basic base64(key:secret)`, still encoded.
    Basic(&'a str),
    /// `Bearer <access token>`.
    Bearer(&'a str),
    /// No header, an unknown scheme or a value that is not ASCII.
    None,
}

/// Lets a request through when `__tenant` names the tenant and Basic credentials match the
/// current API key. Otherwise responds with an empty 401, which carries
/// `Abp-Tenant-Resolve-Error` when the tenant is unknown.
pub(crate) async fn require_public_auth(
    State(state): State<Arc<SharedState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(error) = resolve_tenant(request.headers(), &state.tenant_id) {
        return tenant_rejection(&error, None);
    }

    match credential(request.headers()) {
        Credential::Basic(encoded) if basic_matches(&state, encoded) => next.run(request).await,
        _ => {
            tracing::debug!("sandbox rejected missing or invalid Basic credentials");
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

/// Lets a request through with an unexpired access token from `/connect/token`, or with Basic
/// credentials as on `/api/public` unless `app_requires_token` is set. Otherwise responds with
/// 401 and `WWW-Authenticate: Bearer`, which names `invalid_token` when a bearer token was sent.
/// A bearer token carries its tenant, so `__tenant` is checked only with Basic credentials.
pub(crate) async fn require_app_auth(
    State(state): State<Arc<SharedState>>,
    request: Request,
    next: Next,
) -> Response {
    match credential(request.headers()) {
        Credential::Bearer(token) => match state.tokens.access_token_status(token) {
            TokenStatus::Valid => next.run(request).await,
            status => invalid_token_rejection(status == TokenStatus::Expired),
        },
        Credential::Basic(encoded) if !state.app_requires_token => {
            if let Err(error) = resolve_tenant(request.headers(), &state.tenant_id) {
                return tenant_rejection(&error, Some(BEARER_CHALLENGE));
            }
            if basic_matches(&state, encoded) {
                return next.run(request).await;
            }
            bearer_challenge(BEARER_CHALLENGE)
        }
        _ => bearer_challenge(BEARER_CHALLENGE),
    }
}

/// Finds the credential in the `Authorization` header. Scheme names ignore ASCII case.
fn credential(headers: &HeaderMap) -> Credential<'_> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Credential::None;
    };
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Credential::None;
    };

    if scheme.eq_ignore_ascii_case("basic") {
        Credential::Basic(rest.trim())
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Credential::Bearer(rest.trim())
    } else {
        Credential::None
    }
}

/// Returns true when `encoded` is base64 of `key:secret` for the current API key.
fn basic_matches(state: &SharedState, encoded: &str) -> bool {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|byte| *byte == b':') else {
        return false;
    };
    let (key, secret) = (&decoded[..colon], &decoded[colon + 1..]);

    state.with_api_key(|current: &ApiKey| {
        let key_matches = constant_time_eq(key, current.key.expose_secret().as_bytes());
        let secret_matches = constant_time_eq(secret, current.secret.expose_secret().as_bytes());
        key_matches & secret_matches
    })
}

/// Compares two byte strings in time that depends on their lengths only, not on where they
/// differ. Unequal lengths still walk the longer string.
pub(crate) fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    let length = left.len().max(right.len());
    let length_difference = u8::from(left.len() != right.len());

    let difference = (0..length).fold(length_difference, |difference, index| {
        let left_byte = left.get(index).copied().unwrap_or(0);
        let right_byte = right.get(index).copied().unwrap_or(0);
        difference | (left_byte ^ right_byte)
    });
    std::hint::black_box(difference) == 0
}

/// Builds the 401 for an unresolved tenant, with the challenge when one is given.
///
/// NOTE: stock ABP responds to an unknown tenant with 404 and an HTML page. Rekaz's status is
/// not known. 401 matches the observation that a tenant id without a valid key gets 401.
fn tenant_rejection(error: &TenantError, challenge: Option<HeaderValue>) -> Response {
    tracing::debug!(?error, "sandbox could not resolve the __tenant header");
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let headers = response.headers_mut();

    if let Some((name, value)) = error.resolve_error_header() {
        headers.insert(name, value);
    }
    if let Some(challenge) = challenge {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// Builds the 401 for a bearer token that is expired or unknown, in OpenIddict's style.
fn invalid_token_rejection(expired: bool) -> Response {
    let challenge = if expired {
        HeaderValue::from_static(
            "Bearer error=\"invalid_token\", \
             error_description=\"The specified token is no longer valid.\"",
        )
    } else {
        HeaderValue::from_static(
            "Bearer error=\"invalid_token\", \
             error_description=\"The specified token is invalid.\"",
        )
    };
    bearer_challenge(challenge)
}

/// Builds an empty 401 with the given `WWW-Authenticate` value.
fn bearer_challenge(challenge: HeaderValue) -> Response {
    tracing::debug!(
        ?challenge,
        "sandbox rejected the credentials of an /api/app request"
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_accepts_equal_bytes() {
        assert!(constant_time_eq(b"secret", b"secret"));
    }

    #[test]
    fn constant_time_eq_rejects_different_bytes() {
        assert!(!constant_time_eq(b"secret", b"secreT"));
    }

    #[test]
    fn constant_time_eq_rejects_prefix() {
        assert!(!constant_time_eq(b"secret", b"secret\0"));
    }
}
