//! Validation of `[credentials]` and `[auth]`: where the values come from and how the proxy
//! logs in.

use std::time::Duration;

use super::error::ConfigError;
use super::raw::{RawAuth, RawCredentials};
use super::settings::parse_duration;
use crate::credentials::{AuthMode, CredentialSpecs, Source};
use crate::env::EnvVars;

/// Token mode's requests to the token endpoint.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, Settings};

    fn load_with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: EnvVars = pairs.iter().copied().collect();
        load(None, &env, &Vec::new())
    }

    #[test]
    fn default_mode_is_basic() {
        let settings = load_with(&[]).unwrap();
        assert_eq!(settings.credentials.mode, AuthMode::Basic);
    }

    #[test]
    fn token_mode_is_parsed() {
        let settings = load_with(&[("REKAZ_PROXY__AUTH__MODE", "token")]).unwrap();
        assert_eq!(settings.credentials.mode, AuthMode::Token);
    }

    #[test]
    fn unknown_mode_is_rejected() {
        let error = load_with(&[("REKAZ_PROXY__AUTH__MODE", "oauth")]).unwrap_err();
        assert!(error.to_string().contains("auth.mode"), "{error}");
    }

    #[test]
    fn empty_client_id_sends_none() {
        let settings = load_with(&[]).unwrap();
        assert_eq!(settings.auth.client_id, None);
    }

    #[test]
    fn zero_command_interval_turns_it_off() {
        let pairs = [("REKAZ_PROXY__CREDENTIALS__COMMAND_INTERVAL", "0s")];
        let settings = load_with(&pairs).unwrap();
        assert_eq!(settings.credentials.command_interval, None);
    }

    #[test]
    fn literal_username_is_accepted() {
        let pairs = [("REKAZ_PROXY__CREDENTIALS__USERNAME", "integrator")];
        let settings = load_with(&pairs).unwrap();
        assert_eq!(
            settings.credentials.username,
            Source::Literal("integrator".to_owned())
        );
    }

    #[test]
    fn literal_password_is_rejected() {
        let pairs = [("REKAZ_PROXY__CREDENTIALS__PASSWORD", "hunter2-password")];
        let error = load_with(&pairs).unwrap_err().to_string();
        assert!(error.contains("command:PROGRAM ARGS"), "{error}");
        assert!(!error.contains("hunter2-password"), "{error}");
    }

    #[test]
    fn empty_admin_listen_turns_it_off() {
        let settings = load_with(&[("REKAZ_PROXY__ADMIN__LISTEN", "")]).unwrap();
        assert_eq!(settings.admin.listen, None);
    }

    #[test]
    fn default_admin_listen_is_loopback() {
        let settings = load_with(&[]).unwrap();
        assert_eq!(
            settings.admin.listen,
            Some("127.0.0.1:9090".parse().unwrap())
        );
    }
}
