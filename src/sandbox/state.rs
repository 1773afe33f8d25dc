//! State shared by every request to one sandbox.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use secrecy::SecretString;

use super::customers::Customer;
use super::subscriptions::Subscription;
use super::token_store::TokenStore;
use super::SandboxConfig;

/// The API key and secret that Basic authentication currently accepts.
pub(crate) struct ApiKey {
    pub(crate) key: SecretString,
    pub(crate) secret: SecretString,
}

/// Records created through the API, in creation order.
#[derive(Default)]
pub(crate) struct Records {
    pub(crate) customers: Vec<Customer>,
    pub(crate) subscriptions: Vec<Subscription>,
}

/// Configuration and mutable records of one sandbox.
pub(crate) struct SharedState {
    api_key: RwLock<ApiKey>,
    pub(crate) tenant_id: String,
    pub(crate) latency: Duration,
    pub(crate) app_requires_token: bool,
    pub(crate) token_user: Option<(String, SecretString)>,
    pub(crate) tokens: TokenStore,
    records: Mutex<Records>,
}

impl SharedState {
    /// Creates the state from the configuration, with no records and no issued tokens.
    pub(crate) fn new(config: SandboxConfig) -> Self {
        let api_key = ApiKey {
            key: config.api_key,
            secret: config.api_secret,
        };

        Self {
            api_key: RwLock::new(api_key),
            tenant_id: config.tenant_id,
            latency: config.latency,
            app_requires_token: config.app_requires_token,
            token_user: config.token_user,
            tokens: TokenStore::new(config.token_lifetime),
            records: Mutex::new(Records::default()),
        }
    }

    /// Replaces the accepted API key, so the previous one is rejected from the next request on.
    pub(crate) fn replace_credentials(&self, key: SecretString, secret: SecretString) {
        let mut current = self.api_key.write().unwrap_or_else(PoisonError::into_inner);
        *current = ApiKey { key, secret };
    }

    /// Runs `check` against the API key that is accepted right now.
    pub(crate) fn with_api_key<T>(&self, check: impl FnOnce(&ApiKey) -> T) -> T {
        let current = self.api_key.read().unwrap_or_else(PoisonError::into_inner);
        check(&current)
    }

    /// Locks the records. A panic in another request does not poison them for later requests.
    pub(crate) fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
