//! The seam between the forwarder and the credentials: which `Authorization` header a request
//! gets, what to do when Rekaz rejects it, and whether credentials are usable at all.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::credentials::token::{AccessToken, TokenEndpoint, TokenError, TokenManager};
use crate::credentials::{ActiveCredentials, AuthMode, CredentialStore, ReloadOutcome};

/// Hands out the headers for each request, in Basic or token mode.
pub struct Authenticator {
    store: Arc<CredentialStore>,
    tokens: Option<Arc<TokenManager>>,
}

/// The credentials and header one request is sent with.
pub struct Grant {
    credentials: Arc<ActiveCredentials>,
    token: Option<Arc<AccessToken>>,
    authorization: HeaderValue,
    finished_reloads: u64,
}

/// Outcome of renewing the credentials of a rejected request.
pub enum Renewal {
    /// New credentials or a new token are in use; the request may be sent again with them.
    Renewed(Grant),
    /// The sources hold the same values, so sending again would fail again.
    Unchanged,
    /// Renewing failed; the reason names the source or the token endpoint, never a value.
    Failed(String),
}

impl Authenticator {
    /// Uses the credentials in `store`; in token mode, tokens come from `endpoint` and are
    /// renewed `refresh_margin` before they expire.
    pub fn new(
        store: Arc<CredentialStore>,
        endpoint: TokenEndpoint,
        refresh_margin: Duration,
    ) -> Self {
        let tokens = match store.specs().mode {
            AuthMode::Basic => None,
            AuthMode::Token => Some(Arc::new(TokenManager::new(
                endpoint,
                Arc::clone(&store),
                refresh_margin,
            ))),
        };
        Authenticator { store, tokens }
    }

    /// Returns the credential store.
    pub fn store(&self) -> &Arc<CredentialStore> {
        &self.store
    }

    /// Returns the token manager, in token mode.
    pub fn tokens(&self) -> Option<&Arc<TokenManager>> {
        self.tokens.as_ref()
    }

    /// Returns the header for the next request: the Basic header, or a Bearer header with a token that
    /// has not expired.
    pub async fn grant(&self) -> Result<Grant, TokenError> {
        let finished_reloads = self.store.finished_reloads();
        let credentials = self.store.current();
        let token = match &self.tokens {
            Some(tokens) => Some(tokens.token().await?),
            None => None,
        };
        Ok(Grant::new(credentials, token, finished_reloads))
    }

    /// Returns whether new credentials can follow a rejection: in token mode, or when
    /// a source in use is a file or a command.
    pub fn can_renew(&self) -> bool {
        self.tokens.is_some() || self.store.specs().has_rereadable_source()
    }

    /// Renews what Rekaz rejected: re-reads the sources in Basic mode, or requests a new token.
    /// Concurrent callers that send the same rejected grant share one renewal.
    pub async fn renew_after_rejection(&self, rejected: &Grant) -> Renewal {
        let finished_reloads = self.store.finished_reloads();
        match (&self.tokens, &rejected.token) {
            (Some(tokens), Some(token)) => match tokens.renew_after_rejection(token).await {
                Ok(fresh) if fresh.generation() != token.generation() => Renewal::Renewed(
                    Grant::new(self.store.current(), Some(fresh), finished_reloads),
                ),
                Ok(_) => Renewal::Unchanged,
                Err(error) => Renewal::Failed(error.to_string()),
            },
            _ => {
                let reread = self
                    .store
                    .reread_after_rejection(&rejected.credentials, rejected.finished_reloads)
                    .await;
                match reread {
                    Ok(ReloadOutcome::Changed) => {
                        Renewal::Renewed(Grant::new(self.store.current(), None, finished_reloads))
                    }
                    Ok(ReloadOutcome::Unchanged) => Renewal::Unchanged,
                    Err(error) => Renewal::Failed(error.to_string()),
                }
            }
        }
    }

    /// Returns `Ok` when requests can be sent with usable credentials, or else the reason: the
    /// latest reload failed, or no access token can be had.
    pub fn readiness(&self) -> Result<(), String> {
        if let Some(failure) = self.store.reload_failure() {
            return Err(format!(
                "the latest credential reload failed ({} in a row): {}; the credentials read \
                 before are still in use",
                failure.failures, failure.message
            ));
        }
        match &self.tokens {
            Some(tokens) => tokens.readiness(),
            None => Ok(()),
        }
    }
}

impl Grant {
    fn new(
        credentials: Arc<ActiveCredentials>,
        token: Option<Arc<AccessToken>>,
        finished_reloads: u64,
    ) -> Self {
        let authorization = match (&token, credentials.authorization()) {
            (Some(token), _) => token.authorization().clone(),
            (None, Some(basic)) => basic.clone(),
            // Authenticator::new starts a token manager whenever the mode reads no API key.
            (None, None) => unreachable!("credentials without an API key come with a token"),
        };
        Grant {
            credentials,
            token,
            authorization,
            finished_reloads,
        }
    }

    /// Returns the `Authorization` value to send, marked sensitive.
    pub fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// Returns the credentials behind the header.
    pub fn credentials(&self) -> &Arc<ActiveCredentials> {
        &self.credentials
    }
}
