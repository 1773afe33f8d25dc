//! Errors reading or checking credentials. Messages name the source, never the value.

use std::path::PathBuf;

use thiserror::Error;

/// A credential could not be read or is unusable.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The environment variable is not set.
    #[error(
        "environment variable {name} is not set; set it, or point {name}_FILE at a secret file"
    )]
    EnvMissing {
        /// Variable name.
        name: String,
    },

    /// The source exists but holds nothing.
    #[error("{source_name} is empty; store the value there")]
    Empty {
        /// The source, as `env:NAME` or `file:/path`.
        source_name: String,
    },

    /// The file could not be read.
    #[error("cannot read secret file {}: {reason}; check the path and its permissions", path.display())]
    FileUnreadable {
        /// The file's path.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },

    /// The bytes are not UTF-8 text.
    #[error("{source_name} is not UTF-8 text; store the value as plain text")]
    NotUtf8 {
        /// The source, as `env:NAME` or `file:/path`.
        source_name: String,
    },

    /// The value cannot be used as it is.
    #[error("{what} from {source_name} is invalid: {problem}")]
    Invalid {
        /// Which value: `API key`, `API secret` or `tenant id`.
        what: &'static str,
        /// The source, as `env:NAME` or `file:/path`.
        source_name: String,
        /// What is wrong and how to fix it, without the value.
        problem: String,
    },
}
