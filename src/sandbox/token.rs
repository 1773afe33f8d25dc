//! The OpenIddict token endpoint `/connect/token`, with the password and refresh-token grants.
//!
//! Error codes are the OAuth 2.0 ones that OpenIddict returns. The `error_description` texts
//! imitate OpenIddict's style, but Rekaz's exact wording is not known.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::auth::constant_time_eq;
use super::json::json_response;
use super::state::SharedState;
use super::tenant::{resolve_tenant, TenantError};
use super::token_store::{IssuedTokens, TokenStatus};
use super::urlencoded::Pairs;

/// Client id of Rekaz's own web app, the only client allowed the password grant.
const ALLOWED_CLIENT_ID: &str = "Platform_App";

/// Content-Type that OpenIddict writes on token responses.
const OPENIDDICT_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// `error_description` for a wrong username or password.
const INVALID_CREDENTIALS: &str = "Invalid username or password!";

/// An OAuth 2.0 error response (RFC 6749, section 5.2).
#[derive(Debug, Serialize)]
struct OAuthError {
    error: &'static str,
    error_description: &'static str,
    #[serde(skip)]
    tenant_error: Option<TenantError>,
}

/// A successful token response (RFC 6749, section 5.1).
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
}

/// Handles `POST /connect/token`: exchanges a username and password, or a refresh token, for a
/// new access token and refresh token.
///
/// Errors are 400 with `invalid_request`, `unsupported_grant_type`, `unauthorized_client` or
/// `invalid_grant`, as OpenIddict names them.
pub(crate) async fn issue_token(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match grant_tokens(&state, &headers, &body) {
        Ok(tokens) => token_response(&tokens),
        Err(error) => {
            tracing::debug!(error = error.error, "sandbox token request rejected");
            error_response(&error)
        }
    }
}

/// Validates the request in OpenIddict's order and runs its grant.
fn grant_tokens(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IssuedTokens, OAuthError> {
    if !has_form_content_type(headers) {
        return Err(invalid_request(
            "The specified 'Content-Type' header is invalid.",
        ));
    }
    let form = Pairs::parse(&String::from_utf8_lossy(body));

    let grant_type = read_grant_type(&form)?;
    check_client(form.get("client_id"))?;
    check_tenant(state, headers)?;

    if grant_type == "password" {
        grant_password(state, &form)
    } else {
        grant_refresh_token(state, &form)
    }
}

/// Returns the `grant_type` when it is one of the two supported grants.
fn read_grant_type(form: &Pairs) -> Result<&str, OAuthError> {
    let grant_type = form
        .get("grant_type")
        .filter(|grant_type| !grant_type.is_empty())
        .ok_or_else(|| invalid_request("The mandatory 'grant_type' parameter is missing."))?;

    if grant_type == "password" || grant_type == "refresh_token" {
        Ok(grant_type)
    } else {
        Err(oauth_error(
            "unsupported_grant_type",
            "The specified 'grant_type' is not supported.",
        ))
    }
}

/// Accepts a request without `client_id` or from Rekaz's web app client.
fn check_client(client_id: Option<&str>) -> Result<(), OAuthError> {
    match client_id {
        None | Some(ALLOWED_CLIENT_ID) => Ok(()),
        Some(_) => Err(oauth_error(
            "unauthorized_client",
            "This client application is not allowed to use the specified grant type.",
        )),
    }
}

/// Requires `__tenant` to name the tenant, because users belong to a tenant.
///
/// NOTE: which error Rekaz returns here is a guess. Without a tenant, ABP looks the user up
/// among the host's users, finds none and reports `invalid_grant`, so both cases use that.
fn check_tenant(state: &SharedState, headers: &HeaderMap) -> Result<(), OAuthError> {
    resolve_tenant(headers, &state.tenant_id).map_err(|tenant_error| OAuthError {
        error: "invalid_grant",
        error_description: INVALID_CREDENTIALS,
        tenant_error: Some(tenant_error),
    })
}

/// Runs the password grant against the configured user.
fn grant_password(state: &SharedState, form: &Pairs) -> Result<IssuedTokens, OAuthError> {
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return Err(invalid_request(
            "The mandatory 'username' and/or 'password' parameters are missing.",
        ));
    };

    let matches = state.token_user.as_ref().is_some_and(|(user, secret)| {
        let user_matches = constant_time_eq(username.as_bytes(), user.as_bytes());
        let password_matches =
            constant_time_eq(password.as_bytes(), secret.expose_secret().as_bytes());
        user_matches & password_matches
    });
    if !matches {
        return Err(oauth_error("invalid_grant", INVALID_CREDENTIALS));
    }
    Ok(state.tokens.issue())
}

/// Runs the refresh-token grant. The presented refresh token stays valid until it expires.
fn grant_refresh_token(state: &SharedState, form: &Pairs) -> Result<IssuedTokens, OAuthError> {
    let refresh_token = form
        .get("refresh_token")
        .filter(|token| !token.is_empty())
        .ok_or_else(|| invalid_request("The mandatory 'refresh_token' parameter is missing."))?;

    match state.tokens.refresh_token_status(refresh_token) {
        TokenStatus::Valid => Ok(state.tokens.issue()),
        TokenStatus::Expired => Err(oauth_error(
            "invalid_grant",
            "The specified refresh token is no longer valid.",
        )),
        TokenStatus::Unknown => Err(oauth_error(
            "invalid_grant",
            "The specified refresh token is invalid.",
        )),
    }
}

/// Returns true when the body is sent as `application/x-www-form-urlencoded`.
fn has_form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Builds an OAuth error without a tenant problem.
fn oauth_error(error: &'static str, error_description: &'static str) -> OAuthError {
    OAuthError {
        error,
        error_description,
        tenant_error: None,
    }
}

/// Builds an `invalid_request` error.
fn invalid_request(error_description: &'static str) -> OAuthError {
    oauth_error("invalid_request", error_description)
}

/// Builds the 200 token response, marked as not cacheable as RFC 6749 requires.
fn token_response(tokens: &IssuedTokens) -> Response {
    let body = TokenResponse {
        access_token: tokens.access_token.expose_secret(),
        token_type: "Bearer",
        expires_in: tokens.expires_in.as_secs(),
        refresh_token: tokens.refresh_token.expose_secret(),
    };
    let mut response = json_response(StatusCode::OK, OPENIDDICT_CONTENT_TYPE, &body);
    add_no_store_headers(&mut response);
    response
}

/// Builds the 400 for an OAuth error, with `Abp-Tenant-Resolve-Error` for an unknown tenant.
fn error_response(error: &OAuthError) -> Response {
    let mut response = json_response(StatusCode::BAD_REQUEST, OPENIDDICT_CONTENT_TYPE, error);
    add_no_store_headers(&mut response);

    if let Some((name, value)) = error
        .tenant_error
        .as_ref()
        .and_then(TenantError::resolve_error_header)
    {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
fn add_no_store_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
