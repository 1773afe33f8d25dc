//! Maps a client's request target onto the upstream URL, byte for byte.

use http::Uri;
use percent_encoding::percent_decode_str;
use reqwest::Url;

use super::error::ProxyError;

/// Builds the upstream URL for `uri`: the upstream base followed by the client's path and query
/// exactly as received, so percent-encoding, repeated keys and `//` survive.
///
/// Rejects a path with a `.` or `..` segment, in plain or percent-encoded form, because URL
/// parsers resolve them and the request would reach another resource than the one named.
pub fn upstream_url(base: &Url, uri: &Uri) -> Result<Url, ProxyError> {
    let path_and_query = uri.path_and_query().map_or("/", |value| value.as_str());
    if !path_and_query.starts_with('/') {
        return Err(ProxyError::InvalidPath {
            path: path_and_query.to_owned(),
            reason: "the request target must be a path that starts with /".to_owned(),
        });
    }
    check_dot_segments(uri.path())?;

    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path_and_query);
    // NOTE: the URL parser percent-encodes a few bytes that hyper accepts raw, such as `'` in
    // a query, so those reach Rekaz encoded; every other byte is kept as sent.
    Url::parse(&joined).map_err(|error| ProxyError::InvalidPath {
        path: uri.path().to_owned(),
        reason: error.to_string(),
    })
}

fn check_dot_segments(path: &str) -> Result<(), ProxyError> {
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if decoded == "." || decoded == ".." {
            return Err(ProxyError::InvalidPath {
                path: path.to_owned(),
                reason: format!("dot segment {segment:?} is not allowed"),
            });
        }
    }
    Ok(())
}

/// Returns the path with query parameter names only, safe for logs: values can be personal
/// data such as mobile numbers.
pub fn loggable_target(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let names: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .collect();
    format!("{}?{}", uri.path(), names.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(base: &str, target: &str) -> Result<String, ProxyError> {
        let base = Url::parse(base).unwrap();
        let uri: Uri = target.parse().unwrap();
        upstream_url(&base, &uri).map(|url| url.to_string())
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
