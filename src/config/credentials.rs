//! Validation of `[credentials]` and `[auth]`: where the values come from and how the proxy
//! logs in.

use std::time::Duration;

use super::error::ConfigError;
use super::raw::{RawAuth, RawCredentials};
use super::settings::parse_duration;
use crate::credentials::{AuthMode, CredentialSpecs, Source};
use crate::env::EnvVars;

/// How token mode asks for tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `client_id` sent to the token endpoint; `None` sends none.
    pub client_id: Option<String>,
    /// `scope` of the password grant.
    pub scope: String,
    /// How long before expiry a token is renewed; at most half its lifetime is used.
    pub refresh_margin: Duration,
}

/// Builds the credential sources; `auth.mode` decides which of them are read.
pub(super) fn parse_credentials(
    raw: &RawCredentials,
    auth: &RawAuth,
    env: &EnvVars,
) -> Result<CredentialSpecs, ConfigError> {
    let timeout = parse_duration("credentials.command_timeout", &raw.command_timeout)?;
    let source = |key: &'static str, spec: &str, default_var: &str| {
        Source::from_setting(key, spec, default_var, env, timeout)
    };
    Ok(CredentialSpecs {
        mode: parse_mode(&auth.mode)?,
        api_key: source("credentials.api_key", &raw.api_key, "REKAZ_API_KEY")?,
        api_secret: source(
            "credentials.api_secret",
            &raw.api_secret,
            "REKAZ_API_SECRET",
        )?,
        tenant_id: source("credentials.tenant_id", &raw.tenant_id, "REKAZ_TENANT_ID")?,
        username: source("credentials.username", &raw.username, "REKAZ_USERNAME")?,
        password: source("credentials.password", &raw.password, "REKAZ_PASSWORD")?,
        command_interval: parse_interval(&raw.command_interval)?,
    })
}

/// Builds the token settings.
pub(super) fn parse_auth(raw: RawAuth) -> Result<AuthSettings, ConfigError> {
    if raw.scope.trim().is_empty() {
        return Err(ConfigError::invalid(
            "auth.scope",
            raw.scope,
            "name at least one scope, such as \"Platform offline_access\"",
        ));
    }
    if raw.client_id.chars().any(char::is_control) {
        return Err(ConfigError::invalid(
            "auth.client_id",
            raw.client_id,
            "must not contain control characters",
        ));
    }
    Ok(AuthSettings {
        client_id: Some(raw.client_id).filter(|id| !id.is_empty()),
        scope: raw.scope,
        refresh_margin: parse_duration("auth.refresh_margin", &raw.refresh_margin)?,
    })
}

fn parse_mode(value: &str) -> Result<AuthMode, ConfigError> {
    match value {
        "basic" => Ok(AuthMode::Basic),
        "token" => Ok(AuthMode::Token),
        other => Err(ConfigError::invalid(
            "auth.mode",
            other,
            "use \"basic\" (API key and secret) or \"token\" (username and password)",
        )),
    }
}

/// Parses `credentials.command_interval`, where `0s` turns the periodic run off.
fn parse_interval(value: &str) -> Result<Option<Duration>, ConfigError> {
    const KEY: &str = "credentials.command_interval";
    let interval = humantime::parse_duration(value).map_err(|error| {
        ConfigError::invalid(
            KEY,
            value,
            format!("{error}; use a duration such as 5m, or 0s to turn it off"),
        )
    })?;
    Ok(Some(interval).filter(|interval| !interval.is_zero()))
}
