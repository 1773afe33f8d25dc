//! Checks who is calling before any credential is touched: the `Host` a client addressed and
//! the `Origin` a browser adds.
//!
//! A web page can point its own domain name at 127.0.0.1 (DNS rebinding) and then send
//! requests that the browser labels with that domain in `Host`. Accepting only loopback names,
//! IP literals and configured names in `Host`, no browser `Origin` by default, and no request
//! a browser labels `Sec-Fetch-Site: cross-site`, keeps such a page from spending the Rekaz key.

use std::borrow::Cow;
use std::net::IpAddr;

use http::header::{HeaderName, HOST, ORIGIN};
use http::request::Parts;

use super::error::ProxyError;
use crate::config::GuardSettings;

/// The Fetch Metadata header that names how the page that caused a request relates to its target.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The `Host` and `Origin` allow lists.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
}

impl Guard {
    /// Builds the guard from validated settings.
    pub fn new(settings: &GuardSettings) -> Self {
        Guard {
            allowed_hosts: settings.allowed_hosts.clone(),
            allowed_origins: settings.allowed_origins.clone(),
        }
    }

    /// Rejects a request whose `Host` or `Origin` is not allowed.
    pub fn check(&self, parts: &Parts) -> Result<(), ProxyError> {
        if let Some(host) = requested_host(parts) {
            if !self.host_allowed(&host) {
                return Err(ProxyError::HostNotAllowed {
                    host: host.into_owned(),
                });
            }
        }
        if let Some(origin) = parts.headers.get(ORIGIN) {
            let origin = String::from_utf8_lossy(origin.as_bytes()).to_ascii_lowercase();
            if !self.allowed_origins.contains(&origin) {
                return Err(ProxyError::OriginNotAllowed { origin });
            }
        } else if is_cross_site(parts) {
            return Err(ProxyError::CrossSiteRequest);
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // An IP literal cannot be rebound, and browsers resolve localhost names themselves.
        bare.parse::<IpAddr>().is_ok()
            || host == "localhost"
            || host.ends_with(".localhost")
            || self.allowed_hosts.iter().any(|allowed| allowed == host)
    }
}

/// Returns whether a browser sent the request for a page of another site. Browsers send no
/// `Origin` for an image, script or link that a page points at the proxy, but they label it
/// with `Sec-Fetch-Site: cross-site`.
fn is_cross_site(parts: &Parts) -> bool {
    parts
        .headers
        .get(SEC_FETCH_SITE)
        .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// Returns the host a client addressed, lowercase and without port: from an absolute-form
/// target or HTTP/2 `:authority`, else from `Host`. `None` when the request names none.
fn requested_host(parts: &Parts) -> Option<Cow<'_, str>> {
    if let Some(authority) = parts.uri.authority() {
        return Some(lowercase(authority.host()));
    }
    let value = parts.headers.get(HOST)?;
    // A plain `host[:port]` needs no parsing, so only other values go through the URI parser.
    if let Some(host) = value.to_str().ok().and_then(plain_host) {
        return Some(lowercase(host));
    }
    let text = String::from_utf8_lossy(value.as_bytes());
    let host = match text.parse::<http::uri::Authority>() {
        Ok(authority) => authority.host().to_owned(),
        Err(_) => text.into_owned(),
    };
    Some(Cow::Owned(host.to_ascii_lowercase()))
}

/// Returns the host of `value` when it is a name or IP address with an optional numeric port,
/// an IPv6 address in brackets included.
fn plain_host(value: &str) -> Option<&str> {
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => host,
        _ => value,
    };
    let (inner, bracketed) = match host.strip_prefix('[') {
        Some(rest) => (rest.strip_suffix(']')?, true),
        None => (host, false),
    };
    let allowed = |byte: u8| {
        byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' || (bracketed && byte == b':')
    };
    (!inner.is_empty() && inner.bytes().all(allowed)).then_some(host)
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: Option<&str>, origin: Option<&str>) -> Parts {
        let mut builder = http::Request::get("/api/public/branches");
        if let Some(host) = host {
            builder = builder.header(HOST, host);
        }
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn guard(hosts: &[&str], origins: &[&str]) -> Guard {
        Guard::new(&GuardSettings {
            allowed_hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
            allowed_origins: origins.iter().map(|origin| (*origin).to_owned()).collect(),
        })
    }

    #[test]
    fn loopback_and_ip_hosts_pass() {
        let guard = guard(&[], &[]);
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.1.2.3:8080",
            "app.localhost",
        ] {
            assert!(
                guard.check(&parts(Some(host), None)).is_ok(),
                "{host} was rejected"
            );
        }
    }

    #[test]
    fn missing_host_passes() {
        assert!(guard(&[], &[]).check(&parts(None, None)).is_ok());
    }

    #[test]
    fn rebinding_domain_is_rejected() {
        let error = guard(&[], &[])
            .check(&parts(Some("evil.example:8080"), None))
            .unwrap_err();
        assert!(matches!(error, ProxyError::HostNotAllowed { ref host } if host == "evil.example"));
    }

    #[test]
    fn listed_host_passes_any_case() {
        let guard = guard(&["rekaz-proxy"], &[]);
        assert!(guard.check(&parts(Some("Rekaz-Proxy:8080"), None)).is_ok());
        assert!(guard
            .check(&parts(Some("rekaz-proxy.evil.example"), None))
            .is_err());
    }

    #[test]
    fn browser_origin_is_rejected_unless_listed() {
        let unlisted = guard(&[], &[]).check(&parts(
            Some("127.0.0.1:8080"),
            Some("http://localhost:3000"),
        ));
        assert!(matches!(unlisted, Err(ProxyError::OriginNotAllowed { .. })));
        let listed = guard(&[], &["http://localhost:3000"]);
        assert!(listed
            .check(&parts(
                Some("127.0.0.1:8080"),
                Some("http://LOCALHOST:3000")
            ))
            .is_ok());
    }

    fn with_fetch_site(mut parts: Parts, site: &str) -> Parts {
        let value = http::HeaderValue::from_str(site).unwrap();
        parts.headers.insert(SEC_FETCH_SITE, value);
        parts
    }

    #[test]
    fn cross_site_page_is_rejected_without_origin() {
        let guard = guard(&[], &["http://localhost:3000"]);
        let page = with_fetch_site(parts(Some("127.0.0.1:8080"), None), "Cross-Site");
        assert!(matches!(
            guard.check(&page),
            Err(ProxyError::CrossSiteRequest)
        ));
        for site in ["same-site", "same-origin", "none"] {
            let parts = with_fetch_site(parts(Some("127.0.0.1:8080"), None), site);
            assert!(guard.check(&parts).is_ok(), "{site} was rejected");
        }
        let listed = parts(Some("127.0.0.1:8080"), Some("http://localhost:3000"));
        let listed = with_fetch_site(listed, "cross-site");
        assert!(guard.check(&listed).is_ok(), "a listed origin was rejected");
    }

    #[test]
    fn plain_host_matches_uri_parser() {
        for value in [
            "127.0.0.1:8080",
            "localhost",
            "Rekaz-Proxy:80",
            "[::1]:8080",
            "[::1]",
            "app.localhost:",
            "10.1.2.3",
        ] {
            let parsed: http::uri::Authority = value.parse().unwrap();
            assert_eq!(plain_host(value), Some(parsed.host()), "{value}");
        }
    }

    #[test]
    fn unusual_host_takes_parser_path() {
        for value in ["user@127.0.0.1", "::1", "a b", ""] {
            assert_eq!(plain_host(value), None, "{value}");
        }
    }
}
