//! Rekaz credentials: where they come from, how they are checked, the ready headers, how they
//! are re-read without a restart, and the access tokens of token mode.

mod active;
mod command;
mod error;
mod file;
mod health;
mod redact;
pub mod rotation;
mod source;
mod store;
pub mod token;
mod validate;
mod watch;

use std::time::Duration;

pub use active::{ActiveCredentials, PasswordLogin, SourceReport};
pub use command::CommandSource;
pub use error::CredentialError;
pub use health::ReloadFailure;
pub use redact::{Redactor, REDACTED};
pub use source::{Source, SourceValue};
pub use store::{CredentialStore, ReloadOutcome, ReloadTrigger};
pub use watch::{watch_files, FileWatch};

/// Authentication scheme the proxy uses with Rekaz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization: Basic base64(key:secret)` with the API key and secret.
    Basic,
    /// `Authorization: Bearer <access token>` from the password grant of `/connect/token`.
    Token,
}

/// The sources of the values Rekaz calls need, and how to run `command:` sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSpecs {
    /// Mode that decides the values read and the header sent.
    pub mode: AuthMode,
    /// Source of the API key (Basic mode).
    pub api_key: Source,
    /// Source of the API secret (Basic mode).
    pub api_secret: Source,
    /// Source of the tenant id (a GUID, not secret).
    pub tenant_id: Source,
    /// Source of the username of the password grant (token mode).
    pub username: Source,
    /// Source of the password of the password grant (token mode).
    pub password: Source,
    /// How often `command:` sources run again; `None` runs them only at start, on SIGHUP and
    /// after Rekaz rejects the credentials.
    pub command_interval: Option<Duration>,
}

impl CredentialSpecs {
    /// Returns the sources this mode reads, each with the name of its value, in reading order.
    pub fn used_sources(&self) -> Vec<(&'static str, &Source)> {
        match self.mode {
            AuthMode::Basic => vec![
                ("API key", &self.api_key),
                ("API secret", &self.api_secret),
                ("tenant id", &self.tenant_id),
            ],
            AuthMode::Token => vec![
                ("username", &self.username),
                ("password", &self.password),
                ("tenant id", &self.tenant_id),
            ],
        }
    }

    /// Returns whether any source in use can give a new value when read again.
    pub fn has_rereadable_source(&self) -> bool {
        self.used_sources()
            .iter()
            .any(|(_, source)| source.is_rereadable())
    }

    /// Returns whether any source in use runs a command.
    pub fn has_command_source(&self) -> bool {
        self.used_sources()
            .iter()
            .any(|(_, source)| source.is_command())
    }
}
