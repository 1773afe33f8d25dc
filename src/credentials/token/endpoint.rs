//! The OpenIddict token endpoint, `POST {upstream}/connect/token`: one request per grant.

use std::time::Duration;

use http::{header, HeaderValue, StatusCode};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::{GrantKind, TokenError};
use crate::credentials::{PasswordLogin, Redactor};
use crate::proxy::{error_chain, OwnCallsClient};

/// Access token lifetime assumed when the response has no `expires_in`: Rekaz's one hour.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// Largest token response read; real ones are a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Characters of an `error_description` kept for logs.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// Grant requested from the endpoint.
pub enum Grant<'a> {
    /// Log in with a username and password.
    Password(&'a PasswordLogin),
    /// Exchange a refresh token for a new access token.
    RefreshToken(&'a SecretString),
}

impl Grant<'_> {
    fn kind(&self) -> GrantKind {
        match self {
            Grant::Password(_) => GrantKind::Password,
            Grant::RefreshToken(_) => GrantKind::RefreshToken,
        }
    }

    /// Returns `known` plus the secret this grant sends, in the forms the form body gives it.
    fn redactor(&self, known: &Redactor) -> Redactor {
        let mut redactor = known.clone();
        match self {
            Grant::Password(login) => redactor.add_value(login.password().expose_secret()),
            Grant::RefreshToken(token) => redactor.add_value(token.expose_secret()),
        }
        redactor
    }
}

/// A successful token response.
pub struct IssuedToken {
    /// The access token for `Authorization: Bearer`.
    pub access_token: SecretString,
    /// The refresh token, when the scope asked for `offline_access`.
    pub refresh_token: Option<SecretString>,
    /// How long the access token lasts from when the request was sent.
    pub expires_in: Duration,
}

/// The fields of a token response that the proxy uses (RFC 6749, section 5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

/// An OAuth 2.0 error response (RFC 6749, section 5.2).
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Token endpoint URL and the fixed parts of every token request.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    client: OwnCallsClient,
    url: Url,
    client_id: Option<String>,
    scope: String,
    user_agent: HeaderValue,
    timeout: Duration,
}

impl TokenEndpoint {
    /// Describes the endpoint at `{upstream}/connect/token`. An empty `client_id` sends none.
    pub fn new(
        client: OwnCallsClient,
        upstream: &Url,
        client_id: Option<String>,
        scope: String,
        user_agent: HeaderValue,
        timeout: Duration,
    ) -> Self {
        let url = Url::parse(&format!(
            "{}/connect/token",
            upstream.as_str().trim_end_matches('/')
        ))
        .expect("a valid base URL with a path appended is valid");
        TokenEndpoint {
            client,
            url,
            client_id: client_id.filter(|id| !id.is_empty()),
            scope,
            user_agent,
            timeout,
        }
    }

    /// Returns the endpoint's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Requests a token with `grant` for the tenant in `tenant`. Texts from the endpoint that
    /// reach the error are cleaned of the values in `secrets` and of the grant's own secret.
    pub async fn request(
        &self,
        grant: Grant<'_>,
        tenant: &HeaderValue,
        secrets: &Redactor,
    ) -> Result<IssuedToken, TokenError> {
        let kind = grant.kind();
        let redactor = grant.redactor(secrets);
        let client = self
            .client
            .get()
            .map_err(|reason| TokenError::Unreachable {
                url: self.url.to_string(),
                cause: reason,
            })?;
        let request = client
            .post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, self.user_agent.clone())
            .header("__tenant", tenant.clone())
            .body(self.form(&grant));

        let sent = tokio::time::timeout(self.timeout, async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        })
        .await;
        let (status, body) = match sent {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Err(self.unreachable(error, &redactor)),
            Err(_) => {
                return Err(TokenError::TimedOut {
                    url: self.url.to_string(),
                    seconds: self.timeout.as_secs_f64(),
                })
            }
        };
        self.parse(kind, status, &body, &redactor)
    }

    /// Builds the form body. It contains the password or refresh token, so it is never logged.
    fn form(&self, grant: &Grant<'_>) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        match grant {
            Grant::Password(login) => {
                form.append_pair("grant_type", "password");
                form.append_pair("username", login.username().expose_secret());
                form.append_pair("password", login.password().expose_secret());
                form.append_pair("scope", &self.scope);
            }
            Grant::RefreshToken(refresh_token) => {
                form.append_pair("grant_type", "refresh_token");
                form.append_pair("refresh_token", refresh_token.expose_secret());
            }
        }
        if let Some(client_id) = &self.client_id {
            form.append_pair("client_id", client_id);
        }
        form.finish()
    }

    fn parse(
        &self,
        grant: GrantKind,
        status: StatusCode,
        body: &[u8],
        redactor: &Redactor,
    ) -> Result<IssuedToken, TokenError> {
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(self.invalid(format!("larger than {MAX_RESPONSE_BYTES} bytes")));
        }
        if status.is_success() {
            return self.parse_success(body, redactor);
        }
        match serde_json::from_slice::<ErrorResponse>(body) {
            Ok(error) if status.is_client_error() => Err(TokenError::Rejected {
                grant,
                code: printable(&error.error, redactor),
                description: printable(error.error_description.as_deref().unwrap_or(""), redactor),
            }),
            _ => Err(TokenError::Status {
                url: self.url.to_string(),
                status: status.as_u16(),
            }),
        }
    }

    fn parse_success(&self, body: &[u8], redactor: &Redactor) -> Result<IssuedToken, TokenError> {
        // serde_json's message could quote a value, so only the position is reported.
        let response: TokenResponse = serde_json::from_slice(body).map_err(|error| {
            self.invalid(format!(
                "not the expected JSON object (line {}, column {})",
                error.line(),
                error.column()
            ))
        })?;
        let token_type = response.token_type.as_deref().unwrap_or("Bearer");
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(self.invalid(format!(
                "token_type is {:?}, not Bearer",
                printable(token_type, redactor)
            )));
        }
        if response.access_token.is_empty() {
            return Err(self.invalid("access_token is empty".to_owned()));
        }
        if !response
            .access_token
            .bytes()
            .all(|byte| byte.is_ascii_graphic())
        {
            return Err(self.invalid(
                "access_token holds characters an Authorization header cannot carry".to_owned(),
            ));
        }
        Ok(IssuedToken {
            access_token: SecretString::from(response.access_token),
            refresh_token: response
                .refresh_token
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
            expires_in: response
                .expires_in
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_EXPIRES_IN),
        })
    }

    fn invalid(&self, problem: String) -> TokenError {
        TokenError::InvalidResponse {
            url: self.url.to_string(),
            problem,
        }
    }

    fn unreachable(&self, error: reqwest::Error, redactor: &Redactor) -> TokenError {
        TokenError::Unreachable {
            url: self.url.to_string(),
            cause: redactor.redact(&error_chain(&error.without_url())),
        }
    }
}

/// Removes the known secrets from text from the endpoint, drops control characters and
/// shortens it, so it is safe on one log line. Secrets are removed before and after the control
/// characters, so neither a tab inside a secret nor a line break inserted into one hides it,
/// and before the cut, so no part of one is left behind.
fn printable(text: &str, redactor: &Redactor) -> String {
    let visible: String = redactor
        .redact(text)
        .chars()
        .filter(|character| !character.is_control())
        .collect();
    redactor
        .redact(&visible)
        .chars()
        .take(MAX_DESCRIPTION_CHARS)
        .collect()
}
