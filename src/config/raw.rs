//! Configuration as written by the user, before validation.

use serde::Deserialize;

/// Every key of the configuration, as strings and numbers straight from the layers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub listen: String,
    pub upstream: RawUpstream,
    pub credentials: RawCredentials,
    pub auth: RawAuth,
    pub admin: RawAdmin,
    pub guard: RawGuard,
    pub limits: RawLimits,
    pub log: RawLog,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub url: String,
    pub connect_timeout: String,
    pub timeout: String,
    pub read_timeout: String,
    pub user_agent: String,
    pub ca_bundle: String,
    pub pool_max_idle: usize,
    pub pool_idle_timeout: String,
}

/// Credential source specifications; these are references such as `env:NAME`, never values,
/// except a literal tenant id or username.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCredentials {
    pub api_key: String,
    pub api_secret: String,
    pub tenant_id: String,
    pub username: String,
    pub password: String,
    pub command_timeout: String,
    pub command_interval: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    pub mode: String,
    pub client_id: String,
    pub scope: String,
    pub refresh_margin: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub max_request_body_bytes: usize,
    pub shutdown_grace: String,
    pub client_header_timeout: String,
    pub client_idle_timeout: String,
    pub max_connections: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub format: String,
    pub level: String,
    pub repeat_window: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGuard {
    pub allowed_hosts: String,
    pub allowed_origins: String,
}
