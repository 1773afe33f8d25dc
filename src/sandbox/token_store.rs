//! Access and refresh tokens issued by the sandbox's `/connect/token`, kept in memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use secrecy::SecretString;

/// Lifetime of refresh tokens, OpenIddict's default of 14 days.
const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// How long an expired token is remembered, so that it is reported as expired rather than
/// unknown. Older entries are removed when new tokens are issued.
const EXPIRED_TOKEN_RETENTION: Duration = Duration::from_secs(3600);

/// State of a presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    /// Issued by this sandbox and not expired.
    Valid,
    /// Issued by this sandbox but past its lifetime.
    Expired,
    /// Never issued by this sandbox, or forgotten after expiry.
    Unknown,
}

/// A newly issued token pair.
pub(crate) struct IssuedTokens {
    /// Opaque access token for `Authorization: Bearer`.
    pub(crate) access_token: SecretString,
    /// Opaque refresh token for the `refresh_token` grant.
    pub(crate) refresh_token: SecretString,
    /// Lifetime of the access token.
    pub(crate) expires_in: Duration,
}

/// Expiry instants of the issued tokens, keyed by token text.
#[derive(Default)]
struct Expiries {
    access_tokens: HashMap<String, Instant>,
    refresh_tokens: HashMap<String, Instant>,
}

/// Issued tokens with their expiry. Tokens are random and never logged.
pub(crate) struct TokenStore {
    access_token_lifetime: Duration,
    expiries: Mutex<Expiries>,
}

impl TokenStore {
    /// Creates an empty store whose access tokens live for `access_token_lifetime`.
    pub(crate) fn new(access_token_lifetime: Duration) -> Self {
        Self {
            access_token_lifetime,
            expiries: Mutex::new(Expiries::default()),
        }
    }

    /// Issues a new access token and refresh token.
    pub(crate) fn issue(&self) -> IssuedTokens {
        let access_token = new_token();
        let refresh_token = new_token();
        let now = Instant::now();

        let mut expiries = self.lock();
        forget_old_tokens(&mut expiries, now);
        expiries
            .access_tokens
            .insert(access_token.clone(), now + self.access_token_lifetime);
        expiries
            .refresh_tokens
            .insert(refresh_token.clone(), now + REFRESH_TOKEN_LIFETIME);

        IssuedTokens {
            access_token: SecretString::from(access_token),
            refresh_token: SecretString::from(refresh_token),
            expires_in: self.access_token_lifetime,
        }
    }

    /// Returns the state of an access token presented as `Bearer`.
    pub(crate) fn access_token_status(&self, token: &str) -> TokenStatus {
        status_of(self.lock().access_tokens.get(token))
    }

    /// Returns the state of a refresh token presented to the `refresh_token` grant.
    pub(crate) fn refresh_token_status(&self, token: &str) -> TokenStatus {
        status_of(self.lock().refresh_tokens.get(token))
    }

    /// Locks the expiries. A panic in another request does not poison them.
    fn lock(&self) -> MutexGuard<'_, Expiries> {
        self.expiries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates an opaque token: a random GUID as 32 hex digits.
fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Classifies a token by its expiry, if it was found. A token expires at its expiry instant.
fn status_of(expires_at: Option<&Instant>) -> TokenStatus {
    match expires_at {
        None => TokenStatus::Unknown,
        Some(expires_at) if Instant::now() >= *expires_at => TokenStatus::Expired,
        Some(_) => TokenStatus::Valid,
    }
}

/// Removes tokens that expired more than [`EXPIRED_TOKEN_RETENTION`] before `now`.
fn forget_old_tokens(expiries: &mut Expiries, now: Instant) {
    let is_recent =
        |expires_at: &Instant| now.saturating_duration_since(*expires_at) < EXPIRED_TOKEN_RETENTION;

    expiries
        .access_tokens
        .retain(|_, expires_at| is_recent(expires_at));
    expiries
        .refresh_tokens
        .retain(|_, expires_at| is_recent(expires_at));
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn issued_access_token_is_valid() {
        let store = TokenStore::new(Duration::from_secs(60));
        let tokens = store.issue();
        let status = store.access_token_status(tokens.access_token.expose_secret());
        assert_eq!(status, TokenStatus::Valid);
    }

    #[test]
    fn zero_lifetime_token_is_expired() {
        let store = TokenStore::new(Duration::ZERO);
        let tokens = store.issue();
        let status = store.access_token_status(tokens.access_token.expose_secret());
        assert_eq!(status, TokenStatus::Expired);
    }

    #[test]
    fn refresh_token_is_not_access_token() {
        let store = TokenStore::new(Duration::from_secs(60));
        let tokens = store.issue();
        let status = store.access_token_status(tokens.refresh_token.expose_secret());
        assert_eq!(status, TokenStatus::Unknown);
    }
}
