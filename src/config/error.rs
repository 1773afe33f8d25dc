//! Errors found while loading and validating configuration.

use thiserror::Error;

/// A configuration problem, naming the key, the value and what is allowed.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The layers could not be read or merged: a missing file, bad TOML, an unknown key or a
    /// value of the wrong type.
    #[error("invalid configuration: {0}")]
    Layers(String),

    /// A key has a value that parsed but is not allowed.
    #[error("invalid value {value:?} for `{key}`: {expected}")]
    InvalidValue {
        /// Dotted key, for example `upstream.timeout`.
        key: &'static str,
        /// The value as given. Never a secret: secret values are never configuration values.
        value: String,
        /// What is allowed, and how to fix it.
        expected: String,
    },
}

impl ConfigError {
    /// Builds an [`ConfigError::InvalidValue`].
    pub fn invalid(
        key: &'static str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        ConfigError::InvalidValue {
            key,
            value: value.into(),
            expected: expected.into(),
        }
    }
}

impl From<config::ConfigError> for ConfigError {
    fn from(error: config::ConfigError) -> Self {
        ConfigError::Layers(error.to_string())
    }
}
