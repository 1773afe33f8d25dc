//! Header hygiene for both legs: hop-by-hop headers and client credentials never cross.

use http::header::{self, HeaderMap, HeaderName};

/// The client's `__tenant` header, replaced by the configured tenant id.
pub const TENANT: HeaderName = HeaderName::from_static("__tenant");

/// Correlation header that ABP echoes back; set when the client sent none.
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// Hop-by-hop headers (RFC 9110 section 7.6.1), plus the legacy `Proxy-Connection`.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Credentials the client tried to send, which were removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StrippedClientCredentials {
    /// The client sent its own `Authorization`.
    pub authorization: bool,
    /// The client sent its own `__tenant`.
    pub tenant: bool,
}

/// Prepares a client's request headers for Rekaz.
///
/// Removes hop-by-hop headers, the headers `Connection` names, `Host` (the HTTP client sets it
/// from the upstream URL), `User-Agent` (replaced by the configured one), and the client's own
/// `Authorization`, `Proxy-Authorization` and `__tenant`.
pub fn prepare_request_headers(headers: &mut HeaderMap) -> StrippedClientCredentials {
    remove_hop_by_hop(headers);
    let present = present(headers, &CLIENT_ONLY);
    let mut stripped = StrippedClientCredentials::default();
    for (index, name) in CLIENT_ONLY.iter().enumerate() {
        if present & (1 << index) == 0 {
            continue;
        }
        headers.remove(name);
        if *name == header::AUTHORIZATION {
            stripped.authorization = true;
        } else if *name == TENANT {
            stripped.tenant = true;
        }
    }
    stripped
}

/// Prepares Rekaz's response headers for the client: removes hop-by-hop headers.
pub fn prepare_response_headers(headers: &mut HeaderMap) {
    remove_hop_by_hop(headers);
}

/// Headers of a client's request that never reach Rekaz besides the hop-by-hop ones: those the
/// proxy sets itself and the client's credentials.
const CLIENT_ONLY: [HeaderName; 5] = [
    header::HOST,
    header::USER_AGENT,
    header::PROXY_AUTHORIZATION,
    header::AUTHORIZATION,
    TENANT,
];

/// Removes the hop-by-hop headers and the headers a `Connection` header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let present = present(headers, &HOP_BY_HOP);
    if present == 0 {
        return;
    }
    // `Connection` is the first of `HOP_BY_HOP`.
    if present & 1 != 0 {
        remove_named_in_connection(headers);
    }
    for (index, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << index) != 0 {
            headers.remove(name);
        }
    }
}

/// Marks which of `names` occur in `headers`, one bit per index. A request carries a handful
/// of headers, so one pass over them is cheaper than a lookup for each name.
fn present(headers: &HeaderMap, names: &[HeaderName]) -> u32 {
    let mut present = 0;
    for name in headers.keys() {
        if let Some(index) = names.iter().position(|candidate| candidate == name) {
            present |= 1 << index;
        }
    }
    present
}

/// Removes the headers that the `Connection` headers name.
fn remove_named_in_connection(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn request_loses_hop_by_hop_headers() {
        let mut map = headers(&[
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-sum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-private", "1"),
            ("accept", "application/json"),
        ]);
        prepare_request_headers(&mut map);
        assert_eq!(map.len(), 1, "left: {map:?}");
        assert_eq!(map["accept"], "application/json");
    }

    #[test]
    fn request_loses_client_credentials() {
        let mut map = headers(&[
            ("authorization", "Basic Zm9vOmJhcg=="),
            ("proxy-authorization", "Basic eA=="),
            ("__tenant", "3a1f3638-e6dc-d864-4aa7-df60cdbb1146"),
            ("host", "localhost:8080"),
            ("user-agent", "Python-urllib/3.12"),
        ]);
        let stripped = prepare_request_headers(&mut map);
        assert!(map.is_empty(), "left: {map:?}");
        assert!(stripped.authorization);
        assert!(stripped.tenant);
    }

    #[test]
    fn request_keeps_end_to_end_headers() {
        let mut map = headers(&[
            ("content-type", "application/json"),
            ("content-length", "12"),
            ("accept-language", "ar"),
            ("x-requested-with", "XMLHttpRequest"),
            ("x-correlation-id", "abc"),
        ]);
        let stripped = prepare_request_headers(&mut map);
        assert_eq!(map.len(), 5);
        assert!(!stripped.authorization);
        assert!(!stripped.tenant);
    }

    #[test]
    fn response_keeps_repeated_set_cookie() {
        let mut map = headers(&[
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("connection", "close"),
            ("transfer-encoding", "chunked"),
        ]);
        prepare_response_headers(&mut map);
        let cookies: Vec<_> = map.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(!map.contains_key("connection"));
        assert!(!map.contains_key("transfer-encoding"));
    }
}
