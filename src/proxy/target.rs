//! Maps a client's request target onto the upstream URI, byte for byte.

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::Uri;
use percent_encoding::percent_decode_str;
use reqwest::Url;

use super::error::ProxyError;

/// The upstream's scheme, host and port and any base path, split once from `upstream.url` so
/// each request only joins its own path and query to them.
#[derive(Debug, Clone)]
pub struct UpstreamBase {
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path without its trailing `/`; empty for a bare host.
    path_prefix: String,
}

impl UpstreamBase {
    /// Splits `url`, which settings validation has checked to be `http` or `https` with a
    /// host.
    pub fn new(url: &Url) -> Self {
        let uri: Uri = url
            .as_str()
            .parse()
            .expect("a validated upstream URL is a valid URI");
        let parts = uri.into_parts();
        UpstreamBase {
            scheme: parts.scheme.unwrap_or(Scheme::HTTPS),
            authority: parts
                .authority
                .expect("a validated upstream URL has a host"),
            path_prefix: url.path().trim_end_matches('/').to_owned(),
        }
    }

    /// Returns the base as a URI with the path `/`, for choosing a route to it.
    pub fn origin(&self) -> Uri {
        self.join(PathAndQuery::from_static("/"))
    }

    /// Builds the upstream URI for `uri`: the base followed by the client's path and query
    /// exactly as received, so percent-encoding, repeated keys, `//` and every other byte
    /// survive.
    ///
    /// Rejects a path with a `.` or `..` segment, in plain or percent-encoded form, because
    /// servers resolve them and the request would reach another resource than the one named.
    pub fn target(&self, uri: &Uri) -> Result<Uri, ProxyError> {
        check_path(uri.path())?;
        check_query(uri)?;
        let client = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        if self.path_prefix.is_empty() {
            return Ok(self.join(client));
        }
        let joined = Bytes::from(format!("{}{}", self.path_prefix, client.as_str()));
        let path_and_query =
            PathAndQuery::from_maybe_shared(joined).map_err(|error| ProxyError::InvalidPath {
                path: uri.path().to_owned(),
                reason: error.to_string(),
            })?;
        Ok(self.join(path_and_query))
    }

    fn join(&self, path_and_query: PathAndQuery) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).expect("scheme, authority and path make a valid URI")
    }
}

/// Rejects a path that URL parsers or Rekaz could resolve to another resource than the one it
/// names: one not starting with `/`, one with a raw backslash (parsers read it as `/`), or one
/// with a `.` or `..` segment once percent-decoded, with `/` or `\` as separators.
fn check_path(path: &str) -> Result<(), ProxyError> {
    let invalid = |reason: &str| ProxyError::InvalidPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if !path.starts_with('/') {
        return Err(invalid(
            "the request target must be a path that starts with /",
        ));
    }
    if path.contains('\\') {
        return Err(invalid(
            "a backslash is not allowed because URL parsers read it as /; \
             send it percent-encoded as %5C",
        ));
    }
    if has_dot_segment(path) {
        return Err(invalid(
            "a . or .. segment, plain or percent-encoded, is not allowed because it would \
             climb to another resource",
        ));
    }
    Ok(())
}

/// Returns whether `path`, percent-decoded, has a `.` or `..` segment between `/` or `\`
/// separators. `path` contains no raw backslash.
fn has_dot_segment(path: &str) -> bool {
    let is_dot = |segment: &str| segment == "." || segment == "..";
    // Most paths have no percent sign, and then there is nothing to decode.
    if !path.contains('%') {
        return path.split('/').any(is_dot);
    }
    percent_decode_str(path)
        .decode_utf8_lossy()
        .split(['/', '\\'])
        .any(is_dot)
}

/// Rejects a `__tenant` query parameter: ABP reads the tenant from the query string before the
/// header, so a client could otherwise choose another tenant than the configured one.
fn check_query(uri: &Uri) -> Result<(), ProxyError> {
    let names_tenant = uri.query().is_some_and(|query| {
        query.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            percent_decode_str(name)
                .decode_utf8_lossy()
                .eq_ignore_ascii_case("__tenant")
        })
    });
    if names_tenant {
        return Err(ProxyError::InvalidPath {
            path: uri.path().to_owned(),
            reason: "the __tenant query parameter is not allowed because the proxy sets the \
                     tenant; remove it from the request"
                .to_owned(),
        });
    }
    Ok(())
}

/// Returns the path with query parameter names only, safe for logs: values can be personal
/// data such as mobile numbers.
pub fn loggable_target(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let mut target = String::with_capacity(path.len() + 1 + query.len());
    target.push_str(path);
    target.push('?');
    let names = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name));
    for (index, name) in names.enumerate() {
        if index > 0 {
            target.push('&');
        }
        target.push_str(name);
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(base: &str, target: &str) -> Result<String, ProxyError> {
        let base = UpstreamBase::new(&Url::parse(base).unwrap());
        let uri: Uri = target.parse().unwrap();
        base.target(&uri).map(|uri| uri.to_string())
    }

    #[test]
    fn url_keeps_encoding_and_slashes() {
        let url = build(
            "https://platform.rekaz.io",
            "/api//a%2Fb/%2520?x=1&x=2&y=%20",
        )
        .unwrap();
        assert_eq!(
            url,
            "https://platform.rekaz.io/api//a%2Fb/%2520?x=1&x=2&y=%20"
        );
    }

    #[test]
    fn target_bytes_are_forwarded_unchanged() {
        let targets = [
            "/",
            "/api/public/products?skipCount=0&maxResultCount=10",
            "//api//x",
            "/a%2Fb/%2520/%E2%82%AC",
            "/x?",
            "/x?q=it's&a=%27&b=[1]&c={2}|^`",
        ];
        for base in ["https://platform.rekaz.io", "http://127.0.0.1:9/rekaz"] {
            for target in targets {
                let expected = format!("{base}{target}");
                assert_eq!(build(base, target).unwrap(), expected, "{base} {target}");
            }
        }
    }

    #[test]
    fn base_with_trailing_slash_adds_none() {
        let url = build("http://127.0.0.1:9/rekaz/", "/api/x").unwrap();
        assert_eq!(url, "http://127.0.0.1:9/rekaz/api/x");
    }

    #[test]
    fn origin_has_root_path() {
        let base = UpstreamBase::new(&Url::parse("https://h.test:8443/rekaz").unwrap());
        assert_eq!(base.origin().to_string(), "https://h.test:8443/");
    }

    #[test]
    fn url_keeps_base_path() {
        let url = build("http://127.0.0.1:9/rekaz", "/api/public/customers").unwrap();
        assert_eq!(url, "http://127.0.0.1:9/rekaz/api/public/customers");
    }

    #[test]
    fn url_adds_no_trailing_slash() {
        let url = build("https://platform.rekaz.io", "/api/public/customers").unwrap();
        assert!(url.ends_with("/customers"));
    }

    #[test]
    fn dot_segments_are_rejected() {
        for target in [
            "/api/../x",
            "/api/%2e%2e/x",
            "/api/.%2E/x",
            "/api/./x",
            "/api/%2e",
        ] {
            assert!(
                build("https://h.test", target).is_err(),
                "{target} was accepted"
            );
        }
    }

    #[test]
    fn asterisk_form_is_rejected() {
        let error = build("https://h.test", "*").unwrap_err().to_string();
        assert!(error.contains("must be a path"), "{error}");
    }

    #[test]
    fn tenant_query_parameter_is_rejected() {
        for target in [
            "/api/x?__tenant=abc",
            "/api/x?a=1&__TENANT=b",
            "/api/x?%5F_tenant",
        ] {
            assert!(
                build("https://h.test", target).is_err(),
                "{target} was accepted"
            );
        }
        assert!(build("https://h.test", "/api/x?my__tenant=1").is_ok());
    }

    #[test]
    fn backslash_paths_are_rejected() {
        for target in [
            "/api/public/customers\\..\\branches",
            "/a\\b",
            "/base/%5C..%5C/x",
            "/a%2F..%2Fb",
        ] {
            assert!(
                build("https://h.test", target).is_err(),
                "{target} was accepted"
            );
        }
    }

    #[test]
    fn encoded_backslash_in_name_is_kept() {
        let url = build("https://h.test", "/api/a%5Cb").unwrap();
        assert_eq!(url, "https://h.test/api/a%5Cb");
    }

    #[test]
    fn dots_inside_names_are_kept() {
        assert!(build("https://h.test", "/api/a..b/.well-known").is_ok());
    }

    #[test]
    fn loggable_target_drops_query_values() {
        let uri: Uri = "/api/public/customers?mobileNumber=0512&skipCount=0&flag"
            .parse()
            .unwrap();
        assert_eq!(
            loggable_target(&uri),
            "/api/public/customers?mobileNumber&skipCount&flag"
        );
    }
}
