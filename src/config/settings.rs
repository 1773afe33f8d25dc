//! Typed, validated settings built from the raw layers in one step.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderValue;
use reqwest::Url;

use super::credentials::{parse_auth, parse_credentials, AuthSettings};
use super::error::ConfigError;
use super::guard::{parse_guard, GuardSettings};
use super::raw::{RawAdmin, RawConfig, RawLimits, RawLog, RawUpstream};
use crate::credentials::CredentialSpecs;
use crate::env::EnvVars;

/// Everything the proxy needs to start, already checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the proxy listens on.
    pub listen: SocketAddr,
    /// The upstream that requests are forwarded to, and its timeouts and pool.
    pub upstream: UpstreamSettings,
    /// Sources of the credential values, and the `auth.mode` that picks among them.
    pub credentials: CredentialSpecs,
    /// Token requests of token mode.
    pub auth: AuthSettings,
    /// The admin listener for health probes.
    pub admin: AdminSettings,
    /// Allow lists for the `Host` and `Origin` headers.
    pub guard: GuardSettings,
    /// Size and time limits.
    pub limits: Limits,
    /// Log format and filter.
    pub log: LogSettings,
}

/// The Rekaz API and how to reach it.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// Base URL without a trailing slash; request paths are appended to it.
    pub url: Url,
    /// Time allowed to connect, TLS included.
    pub connect_timeout: Duration,
    /// Time allowed until response headers arrive.
    pub timeout: Duration,
    /// Time allowed between two response body chunks.
    pub read_timeout: Duration,
    /// User-Agent sent on every request.
    pub user_agent: HeaderValue,
    /// Extra PEM CA certificates to trust.
    pub ca_bundle: Option<PathBuf>,
    /// Idle pooled connections kept per host.
    pub pool_max_idle: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
}

/// The admin listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// Address serving `/healthz` and `/readyz`; `None` when `admin.listen` is empty.
    pub listen: Option<SocketAddr>,
}

/// Size and time limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_request_body_bytes: usize,
    /// Time given to requests in flight at shutdown.
    pub shutdown_grace: Duration,
    /// Time a client has to send complete request headers.
    pub client_header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request, and the longest pause
    /// within a request body.
    pub client_idle_timeout: Duration,
    /// Client connections served at once.
    pub max_connections: usize,
}

/// Log output settings.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Line format.
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive.
    pub level: String,
    /// Window in which repeated diagnoses of one cause are counted instead of logged.
    pub repeat_window: Duration,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

impl Settings {
    pub(crate) fn from_raw(raw: RawConfig, env: &EnvVars) -> Result<Self, ConfigError> {
        let listen = parse_listen(&raw.listen)?;
        Ok(Settings {
            listen,
            upstream: parse_upstream(raw.upstream)?,
            credentials: parse_credentials(&raw.credentials, &raw.auth, env)?,
            auth: parse_auth(raw.auth)?,
            admin: parse_admin(raw.admin, listen)?,
            guard: parse_guard(&raw.guard.allowed_hosts, &raw.guard.allowed_origins)?,
            limits: parse_limits(raw.limits)?,
            log: parse_log(raw.log)?,
        })
    }
}

fn parse_listen(value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::invalid(
            "listen",
            value,
            "expected IP:PORT such as 127.0.0.1:8080 (a host name is not accepted)",
        )
    })
}

/// Parses `admin.listen`, which must not take the port of `proxy_listen`.
fn parse_admin(raw: RawAdmin, proxy_listen: SocketAddr) -> Result<AdminSettings, ConfigError> {
    if raw.listen.is_empty() {
        return Ok(AdminSettings { listen: None });
    }
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        ConfigError::invalid(
            "admin.listen",
            &raw.listen,
            "expected IP:PORT such as 127.0.0.1:9090, or empty to turn the admin listener off",
        )
    })?;
    if addresses_collide(listen, proxy_listen) {
        return Err(ConfigError::invalid(
            "admin.listen",
            &raw.listen,
            format!(
                "`listen` ({proxy_listen}) takes this port already; give admin.listen another \
                 port, such as {}, or set it empty to turn the admin listener off",
                SocketAddr::new(listen.ip(), if listen.port() == 9090 { 9091 } else { 9090 })
            ),
        ));
    }
    Ok(AdminSettings {
        listen: Some(listen),
    })
}

/// Returns whether binding both addresses would fail with "Address already in use": the same
/// fixed port on the same IP address, or on any address when either is a wildcard such as
/// 0.0.0.0. Port 0 requests a free port, so it never collides.
fn addresses_collide(first: SocketAddr, second: SocketAddr) -> bool {
    first.port() != 0
        && first.port() == second.port()
        && (first.ip() == second.ip()
            || first.ip().is_unspecified()
            || second.ip().is_unspecified())
}

fn parse_upstream(raw: RawUpstream) -> Result<UpstreamSettings, ConfigError> {
    Ok(UpstreamSettings {
        url: parse_upstream_url(&raw.url)?,
        connect_timeout: parse_duration("upstream.connect_timeout", &raw.connect_timeout)?,
        timeout: parse_duration("upstream.timeout", &raw.timeout)?,
        read_timeout: parse_duration("upstream.read_timeout", &raw.read_timeout)?,
        user_agent: parse_user_agent(&raw.user_agent)?,
        ca_bundle: parse_ca_bundle(&raw.ca_bundle)?,
        pool_max_idle: raw.pool_max_idle,
        pool_idle_timeout: parse_duration("upstream.pool_idle_timeout", &raw.pool_idle_timeout)?,
    })
}

/// Accepts `https://host[:port][/base]`, or `http://` when the host is loopback.
fn parse_upstream_url(value: &str) -> Result<Url, ConfigError> {
    const KEY: &str = "upstream.url";
    let url = Url::parse(value).map_err(|error| {
        ConfigError::invalid(KEY, value, format!("not a URL ({error}); use https://host"))
    })?;

    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError::invalid(
                KEY,
                value,
                "plain http:// would send the API key unencrypted; use https:// \
                 (http:// is accepted only for a loopback host such as 127.0.0.1)",
            ))
        }
        _ => {
            return Err(ConfigError::invalid(
                KEY,
                value,
                "the scheme must be https://",
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            KEY,
            "<URL with user info>",
            "remove user:password@ from the URL; credentials come from [credentials]",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            KEY,
            value,
            "remove the query and fragment",
        ));
    }

    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|error| ConfigError::invalid(KEY, value, error.to_string()))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

pub(super) fn parse_duration(key: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let duration = humantime::parse_duration(value).map_err(|error| {
        ConfigError::invalid(
            key,
            value,
            format!("{error}; use a duration such as 30s or 500ms"),
        )
    })?;
    if duration.is_zero() {
        return Err(ConfigError::invalid(
            key,
            value,
            "must be greater than zero",
        ));
    }
    Ok(duration)
}

fn parse_user_agent(value: &str) -> Result<HeaderValue, ConfigError> {
    if value.is_empty() {
        return Ok(HeaderValue::from_static(crate::USER_AGENT));
    }
    HeaderValue::from_str(value).map_err(|_| {
        ConfigError::invalid(
            "upstream.user_agent",
            value,
            "must be visible ASCII, for example my-service/1.0",
        )
    })
}

fn parse_ca_bundle(value: &str) -> Result<Option<PathBuf>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    let path = PathBuf::from(value);
    if !path.is_file() {
        return Err(ConfigError::invalid(
            "upstream.ca_bundle",
            value,
            "file not found; give the path of a PEM file or leave it empty",
        ));
    }
    Ok(Some(path))
}

fn parse_limits(raw: RawLimits) -> Result<Limits, ConfigError> {
    if raw.max_request_body_bytes == 0 {
        return Err(ConfigError::invalid(
            "limits.max_request_body_bytes",
            "0",
            "must be at least 1 byte",
        ));
    }
    if raw.max_connections == 0 {
        return Err(ConfigError::invalid(
            "limits.max_connections",
            "0",
            "must be at least 1 connection",
        ));
    }
    Ok(Limits {
        max_request_body_bytes: raw.max_request_body_bytes,
        shutdown_grace: parse_duration("limits.shutdown_grace", &raw.shutdown_grace)?,
        client_header_timeout: parse_duration(
            "limits.client_header_timeout",
            &raw.client_header_timeout,
        )?,
        client_idle_timeout: parse_duration(
            "limits.client_idle_timeout",
            &raw.client_idle_timeout,
        )?,
        max_connections: raw.max_connections,
    })
}

fn parse_log(raw: RawLog) -> Result<LogSettings, ConfigError> {
    let format = match raw.format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(ConfigError::invalid(
                "log.format",
                other,
                "use \"text\" or \"json\"",
            ))
        }
    };
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(&raw.level) {
        return Err(ConfigError::invalid(
            "log.level",
            raw.level,
            error.to_string(),
        ));
    }
    Ok(LogSettings {
        format,
        level: raw.level,
        repeat_window: parse_duration("log.repeat_window", &raw.repeat_window)?,
    })
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
