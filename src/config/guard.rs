//! The `[guard]` section: which `Host` and `Origin` values may reach the proxy.

use super::error::ConfigError;

/// Callers allowed beyond clients that address the proxy by a loopback name or IP address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardSettings {
    /// Extra host names accepted in `Host`, lowercase, without port.
    pub allowed_hosts: Vec<String>,
    /// Origins accepted in `Origin`, lowercase, as `scheme://host[:port]`.
    pub allowed_origins: Vec<String>,
}

/// Parses the comma-separated `guard.allowed_hosts` and `guard.allowed_origins`.
pub(crate) fn parse_guard(hosts: &str, origins: &str) -> Result<GuardSettings, ConfigError> {
    Ok(GuardSettings {
        allowed_hosts: split_list(hosts)
            .map(|host| parse_host("guard.allowed_hosts", host))
            .collect::<Result<_, _>>()?,
        allowed_origins: split_list(origins)
            .map(|origin| parse_origin("guard.allowed_origins", origin))
            .collect::<Result<_, _>>()?,
    })
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn parse_host(key: &'static str, host: &str) -> Result<String, ConfigError> {
    let valid = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'));
    // The guard compares `Host` without its port, so an entry with a port would never match.
    // A colon is part of the name only inside an IPv6 address's brackets.
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let has_port = host.contains(':') && !bracketed;
    if !valid || has_port {
        return Err(ConfigError::invalid(
            key,
            host,
            "list host names without scheme, port or path, separated by commas, such as \
             rekaz-proxy,rekaz-proxy.default.svc",
        ));
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_origin(key: &'static str, origin: &str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(origin).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.path() == "/"
    });
    if parsed.is_none() || origin.ends_with('/') {
        return Err(ConfigError::invalid(
            key,
            origin,
            "list origins as scheme://host[:port] with no path, separated by commas, such as \
             http://localhost:3000",
        ));
    }
    Ok(origin.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_trimmed_and_lowercased() {
        let guard = parse_guard(" Rekaz-Proxy , svc.local,", "http://LOCALHOST:3000").unwrap();
        assert_eq!(guard.allowed_hosts, ["rekaz-proxy", "svc.local"]);
        assert_eq!(guard.allowed_origins, ["http://localhost:3000"]);
    }

    #[test]
    fn empty_lists_allow_nothing_extra() {
        assert_eq!(parse_guard("", "").unwrap(), GuardSettings::default());
    }

    #[test]
    fn host_with_scheme_is_rejected() {
        let error = parse_guard("http://proxy", "").unwrap_err().to_string();
        assert!(error.contains("guard.allowed_hosts"), "{error}");
        assert!(error.contains("http://proxy"), "{error}");
    }

    #[test]
    fn host_with_port_is_rejected() {
        for host in ["rekaz-proxy:8080", "[::1]:8080", "rekaz-proxy:"] {
            let error = parse_guard(host, "").unwrap_err().to_string();
            assert!(error.contains("guard.allowed_hosts"), "{host}: {error}");
            assert!(error.contains("port"), "{host}: {error}");
        }
    }

    #[test]
    fn bracketed_ipv6_host_is_accepted() {
        let guard = parse_guard("[FE80::1]", "").unwrap();
        assert_eq!(guard.allowed_hosts, ["[fe80::1]"]);
    }

    #[test]
    fn origin_with_path_is_rejected() {
        for origin in [
            "http://a.test/app",
            "a.test",
            "ftp://a.test",
            "http://a.test/",
        ] {
            let error = parse_guard("", origin).unwrap_err().to_string();
            assert!(error.contains("guard.allowed_origins"), "{origin}: {error}");
        }
    }
}
