//! Token mode: access tokens from the password grant, cached, renewed ahead of expiry with the
//! refresh token, and renewed once per rejection however many requests wait.

mod backoff;
mod endpoint;
mod error;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinHandle;

pub use endpoint::{Grant, IssuedToken, TokenEndpoint};
pub use error::{GrantKind, TokenError};

use self::backoff::Backoff;
use super::{ActiveCredentials, CredentialStore, Redactor, ReloadOutcome};

/// Shortest time a token is used before it is renewed, so a tiny `expires_in` cannot make the
/// proxy ask for tokens in a tight loop.
const MIN_REFRESH_AFTER: Duration = Duration::from_secs(1);

/// An access token with its ready header.
pub struct AccessToken {
    authorization: HeaderValue,
    refresh_token: Option<SecretString>,
    expires_at: Instant,
    refresh_at: Instant,
    generation: u64,
    credentials_generation: u64,
    grant: GrantKind,
    /// The access and refresh tokens, to remove from texts from Rekaz.
    secrets: Redactor,
    /// Whether this token replaced one that Rekaz rejected.
    after_rejection: AtomicBool,
}

impl AccessToken {
    /// `Authorization: Bearer <token>`, marked sensitive; built once per token.
    pub(crate) fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// Counts the tokens obtained by this proxy: 1 for the first.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When the token expires, counted from when it was requested.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// When the proxy renews the token, ahead of its expiry.
    pub fn refresh_at(&self) -> Instant {
        self.refresh_at
    }

    fn is_usable_at(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

/// Never prints the token.
impl std::fmt::Debug for AccessToken {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccessToken")
            .field("authorization", &"<redacted>")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("generation", &self.generation)
            .finish()
    }
}

/// Obtains and caches access tokens for the credentials in the store.
pub struct TokenManager {
    endpoint: TokenEndpoint,
    store: Arc<CredentialStore>,
    refresh_margin: Duration,
    current: ArcSwapOption<AccessToken>,
    /// Held while a token is requested, so one request is made however many callers wait.
    renewal: tokio::sync::Mutex<Backoff>,
    /// The failure streak as last seen, readable without waiting for a renewal.
    last_failure: std::sync::Mutex<Option<TokenError>>,
    issued: AtomicU64,
}

impl TokenManager {
    /// Creates a manager with no token yet. `refresh_margin` is how long before expiry a token
    /// is renewed, at most half its lifetime.
    pub fn new(
        endpoint: TokenEndpoint,
        store: Arc<CredentialStore>,
        refresh_margin: Duration,
    ) -> Self {
        TokenManager {
            endpoint,
            store,
            refresh_margin,
            current: ArcSwapOption::empty(),
            renewal: tokio::sync::Mutex::new(Backoff::default()),
            last_failure: std::sync::Mutex::new(None),
            issued: AtomicU64::new(0),
        }
    }

    /// Returns the token endpoint.
    pub fn endpoint(&self) -> &TokenEndpoint {
        &self.endpoint
    }

    /// Returns a token that has not expired: the cached one, or a new one. Never returns a token known
    /// to be expired. While the endpoint is failing, returns its last error without asking it
    /// again until the backoff delay has passed.
    pub async fn token(&self) -> Result<Arc<AccessToken>, TokenError> {
        if let Some(token) = self.usable_token(Instant::now()) {
            return Ok(token);
        }
        self.renew(None, false).await
    }

    /// Replaces `rejected` after Rekaz responded 401 to it. Concurrent callers with the same
    /// token share one request and get the same new token. A token that itself replaced a
    /// rejected one is not replaced again, because then Rekaz rejects more than the token and
    /// a third one would fare no better; the caller gets the current token back.
    pub async fn renew_after_rejection(
        &self,
        rejected: &AccessToken,
    ) -> Result<Arc<AccessToken>, TokenError> {
        if rejected.after_rejection.load(Ordering::Acquire) {
            tracing::debug!(
                generation = rejected.generation,
                "Rekaz rejected a token obtained after a rejection; not renewing it again"
            );
            return self.token().await;
        }
        self.renew(Some(rejected.generation), true).await
    }

    /// Returns `Ok` while a usable token is cached, or else the reason there is none.
    pub fn readiness(&self) -> Result<(), String> {
        if self.usable_token(Instant::now()).is_some() {
            return Ok(());
        }
        match self.lock_last_failure().as_ref() {
            Some(error) => Err(format!("no usable access token: {error}")),
            None => Err("no access token obtained yet".to_owned()),
        }
    }

    /// Starts the task that obtains the first token, renews each one ahead of its expiry,
    /// retries with backoff, and logs in again when the credentials change.
    pub fn spawn_refresher(self: &Arc<Self>) -> JoinHandle<()> {
        let manager = Arc::clone(self);
        tokio::spawn(async move { manager.refresh_forever().await })
    }

    async fn refresh_forever(&self) {
        let mut credential_changes = self.store.subscribe();
        loop {
            let wake = self.next_attempt_at().await;
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => {}
                changed = credential_changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            let replace = self.current.load().as_ref().map(|token| token.generation);
            let _ = self.renew(replace, false).await;
        }
    }

    /// When the refresher should next ask for a token.
    async fn next_attempt_at(&self) -> Instant {
        let backoff = self.renewal.lock().await;
        if let Some(retry_at) = backoff.retry_at() {
            return retry_at;
        }
        match self.current.load().as_ref() {
            Some(token) => token.refresh_at,
            None => Instant::now(),
        }
    }

    fn usable_token(&self, now: Instant) -> Option<Arc<AccessToken>> {
        self.current
            .load_full()
            .filter(|token| token.is_usable_at(now))
    }

    /// Requests a new token unless another caller already replaced token `replace` (or, with
    /// `None`, any expired token) while this one waited. `after_rejection` marks the new token
    /// as the replacement of a rejected one.
    async fn renew(
        &self,
        replace: Option<u64>,
        after_rejection: bool,
    ) -> Result<Arc<AccessToken>, TokenError> {
        let mut backoff = self.renewal.lock().await;
        let now = Instant::now();
        if let Some(token) = self.usable_token(now) {
            if replace != Some(token.generation) {
                return Ok(token);
            }
        }
        if let Some(error) = backoff.pending_error(now) {
            return Err(error);
        }

        match self.fetch().await {
            Ok(token) => {
                token
                    .after_rejection
                    .store(after_rejection, Ordering::Release);
                let failures = backoff.record_success();
                *self.lock_last_failure() = None;
                log_obtained(&token, failures);
                self.remember_secrets(&token);
                self.current.store(Some(Arc::clone(&token)));
                Ok(token)
            }
            Err(error) => {
                let delay = backoff.record_failure(error.clone(), Instant::now());
                self.log_failure(&error, &mut backoff, delay);
                *self.lock_last_failure() = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Asks the endpoint: with the refresh token when the credentials are those it was issued
    /// for, else, or when it is refused, with the password.
    async fn fetch(&self) -> Result<Arc<AccessToken>, TokenError> {
        let previous = self.current.load_full();
        let credentials = self.store.current();
        let refresh_token = previous
            .as_ref()
            .filter(|token| token.credentials_generation == credentials.generation())
            .and_then(|token| token.refresh_token.clone());

        let requested_at = Instant::now();
        if let Some(refresh_token) = refresh_token {
            let grant = Grant::RefreshToken(&refresh_token);
            match self
                .endpoint
                .request(grant, credentials.tenant_header(), &credentials.redactor())
                .await
            {
                Ok(issued) => {
                    let grant = GrantKind::RefreshToken;
                    return Ok(self.build(issued, &credentials, requested_at, grant));
                }
                Err(error) if error.is_invalid_grant() => {
                    tracing::info!(%error, "logging in with the password instead");
                }
                Err(error) => return Err(error),
            }
        }
        self.password_grant().await
    }

    /// Runs the password grant; when Rekaz rejects the password and a source can be re-read,
    /// re-reads the sources once and tries again with new values.
    async fn password_grant(&self) -> Result<Arc<AccessToken>, TokenError> {
        let finished_before = self.store.finished_reloads();
        let credentials = self.store.current();
        let requested_at = Instant::now();
        let error = match self.request_password_grant(&credentials).await {
            Ok(issued) => {
                return Ok(self.build(issued, &credentials, requested_at, GrantKind::Password))
            }
            Err(error) => error,
        };
        if !error.is_invalid_grant() || !self.store.specs().has_rereadable_source() {
            return Err(error);
        }
        // The password may have been rotated since it was read.
        let reread = self
            .store
            .reread_after_rejection(&credentials, finished_before)
            .await;
        if !matches!(reread, Ok(ReloadOutcome::Changed)) {
            return Err(error);
        }
        let credentials = self.store.current();
        let requested_at = Instant::now();
        let issued = self.request_password_grant(&credentials).await?;
        Ok(self.build(issued, &credentials, requested_at, GrantKind::Password))
    }

    async fn request_password_grant(
        &self,
        credentials: &ActiveCredentials,
    ) -> Result<IssuedToken, TokenError> {
        let login = credentials
            .password_login()
            .ok_or(TokenError::NoPasswordLogin)?;
        self.endpoint
            .request(
                Grant::Password(login),
                credentials.tenant_header(),
                &credentials.redactor(),
            )
            .await
    }

    /// Makes every set of credentials of the store redact `token` and the token it replaces,
    /// which requests still in flight may have sent.
    fn remember_secrets(&self, token: &AccessToken) {
        let mut known = token.secrets.clone();
        if let Some(previous) = self.current.load().as_ref() {
            known.extend(&previous.secrets);
        }
        self.store.current().issued_tokens().replace(known);
    }

    fn build(
        &self,
        issued: IssuedToken,
        credentials: &ActiveCredentials,
        requested_at: Instant,
        grant: GrantKind,
    ) -> Arc<AccessToken> {
        let expires_at = requested_at + issued.expires_in;
        let margin = self.refresh_margin.min(issued.expires_in / 2);
        let refresh_at = (expires_at - margin).max(requested_at + MIN_REFRESH_AFTER);
        let mut secrets = Redactor::new();
        secrets.add_value(issued.access_token.expose_secret());
        if let Some(refresh_token) = &issued.refresh_token {
            secrets.add_value(refresh_token.expose_secret());
        }
        Arc::new(AccessToken {
            authorization: bearer_header(&issued.access_token),
            refresh_token: issued.refresh_token,
            expires_at,
            refresh_at,
            generation: self.issued.fetch_add(1, Ordering::AcqRel) + 1,
            credentials_generation: credentials.generation(),
            grant,
            secrets,
            after_rejection: AtomicBool::new(false),
        })
    }

    /// Logs the first failure of a streak at WARN while a usable token remains. Once the streak
    /// has left the proxy without one, it logs one ERROR, and repeats go to DEBUG.
    fn log_failure(&self, error: &TokenError, backoff: &mut Backoff, retry_in: Duration) {
        let retry_in_s = retry_in.as_secs();
        match self.usable_token(Instant::now()) {
            None if backoff.first_failure_without_token() => tracing::error!(
                cause = error.code(),
                %error,
                retry_in_s,
                "cannot obtain an access token; requests get 503 until one is obtained"
            ),
            Some(token) if backoff.failures() == 1 => tracing::warn!(
                cause = error.code(),
                %error,
                expires_in_s = token.expires_at.saturating_duration_since(Instant::now()).as_secs(),
                retry_in_s,
                "cannot renew the access token; the current one stays in use until it expires"
            ),
            _ => tracing::debug!(
                cause = error.code(),
                %error,
                failures = backoff.failures(),
                retry_in_s,
                "token request failed again"
            ),
        }
    }

    fn lock_last_failure(&self) -> std::sync::MutexGuard<'_, Option<TokenError>> {
        self.last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn log_obtained(token: &AccessToken, failures: u32) {
    let now = Instant::now();
    tracing::info!(
        generation = token.generation,
        grant = token.grant.as_str(),
        expires_in_s = token.expires_at.saturating_duration_since(now).as_secs(),
        refresh_in_s = token.refresh_at.saturating_duration_since(now).as_secs(),
        has_refresh_token = token.refresh_token.is_some(),
        failed_attempts = failures,
        "obtained an access token"
    );
}

/// Builds the header; the endpoint accepts only tokens of visible ASCII, which a header can carry.
fn bearer_header(access_token: &SecretString) -> HeaderValue {
    let value = SecretString::from(format!("Bearer {}", access_token.expose_secret()));
    let mut header = HeaderValue::from_str(value.expose_secret())
        .expect("the token endpoint accepts only visible ASCII tokens");
    header.set_sensitive(true);
    header
}
