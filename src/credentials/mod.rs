//! Rekaz credentials: where they come from, how they are checked, and the ready headers.

mod active;
mod error;
mod source;
mod store;

pub use active::{ActiveCredentials, SourceReport};
pub use error::CredentialError;
pub use source::{Source, SourceValue};
pub use store::{CredentialStore, ReloadOutcome};

/// The sources of the three values every Rekaz call needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSpecs {
    /// Source of the API key.
    pub api_key: Source,
    /// Source of the API secret.
    pub api_secret: Source,
    /// Source of the tenant id (a GUID, not secret).
    pub tenant_id: Source,
}
