//! The forwarding client's connections to Rekaz: straight to its address, or through the
//! CONNECT tunnel of the HTTP proxy named by `HTTPS_PROXY` (or `HTTP_PROXY`, `ALL_PROXY`)
//! unless `NO_PROXY` exempts the host. TLS follows for an `https` upstream, and the whole
//! connection must be ready within `upstream.connect_timeout`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::body_timeout::BoxError;
use super::client::ClientError;
use crate::env::EnvVars;

/// A connection to Rekaz, over TLS or not.
pub type UpstreamStream = MaybeHttpsStream<TokioIo<TcpStream>>;

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// The TCP leg: straight to Rekaz, or to an HTTP proxy that opens a tunnel to it.
#[derive(Clone, Debug)]
pub enum Route {
    /// Connect to the upstream's own address.
    Direct(HttpConnector),
    /// Connect to the proxy and ask it, with `CONNECT host:port`, for a tunnel to the upstream.
    Tunnel(Tunnel<HttpConnector>),
}

/// The port of a proxy whose address names none, as curl assumes.
const DEFAULT_PROXY_PORT: u16 = 1080;

impl Route {
    /// Picks the route to `upstream` from the proxy variables in `env`: the one
    /// [`proxy_variable`] chooses, unless `NO_PROXY` exempts the host. Only `http://` proxies
    /// are supported, and a value that is not a URL is an error rather than ignored.
    pub fn from_env(
        upstream: &Uri,
        env: &EnvVars,
        tcp: HttpConnector,
    ) -> Result<Self, ClientError> {
        let Some((name, value)) = proxy_variable(upstream, env) else {
            return Ok(Route::Direct(tcp));
        };
        let no_proxy = first_set(env, ["NO_PROXY", "no_proxy"]).map_or("", |(_, value)| value);
        let matcher = Matcher::builder().all(value).no(no_proxy).build();

        let Some(intercept) = matcher.intercept(upstream) else {
            // The matcher ignores a value it cannot parse, which would connect directly
            // although a proxy was configured.
            if names_unparsable_proxy(value) {
                return Err(ClientError::ProxyVariable {
                    name: name.to_owned(),
                });
            }
            return Ok(Route::Direct(tcp));
        };

        let proxy = intercept.uri();
        // The URI parser accepts a port over 65535, and then reports no port at all.
        let authority = proxy.authority().map_or("", |authority| authority.as_str());
        let host = proxy.host().unwrap_or_default();
        let port = match proxy.port_u16() {
            Some(port) => port,
            None if authority == host => DEFAULT_PROXY_PORT,
            None => {
                return Err(ClientError::ProxyVariable {
                    name: name.to_owned(),
                })
            }
        };
        let address = format!("{host}:{port}");
        if proxy.scheme_str() != Some("http") {
            return Err(ClientError::Proxy {
                proxy: format!("{}://{address}", proxy.scheme_str().unwrap_or_default()),
            });
        }
        tracing::info!(proxy = %address, "connections to Rekaz go through the proxy's tunnel");
        let proxy = Uri::builder()
            .scheme("http")
            .authority(address.as_str())
            .path_and_query("/")
            .build()
            .map_err(|_| ClientError::ProxyVariable {
                name: name.to_owned(),
            })?;
        let mut tunnel = Tunnel::new(proxy, tcp);
        if let Some(credentials) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(credentials.clone());
        }
        Ok(Route::Tunnel(tunnel))
    }
}

impl Service<Uri> for Route {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Route::Direct(tcp) => tcp.poll_ready(context).map_err(Into::into),
            Route::Tunnel(tunnel) => tunnel.poll_ready(context).map_err(Into::into),
        }
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        match self {
            Route::Direct(tcp) => {
                let connecting = tcp.call(destination);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Route::Tunnel(tunnel) => {
                let connecting = tunnel.call(with_default_port(destination));
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
        }
    }
}

/// Returns the name and value of the proxy variable that applies to `upstream`, the upper-case
/// name before the lower-case one. That is `HTTPS_PROXY` for an https upstream, `HTTP_PROXY`
/// for an http one (ignored when `REQUEST_METHOD` is set, as in CGI), else `ALL_PROXY`.
fn proxy_variable<'env>(upstream: &Uri, env: &'env EnvVars) -> Option<(&'static str, &'env str)> {
    let specific = match upstream.scheme_str() {
        Some("http") if env.contains("REQUEST_METHOD") => None,
        Some("http") => first_set(env, ["HTTP_PROXY", "http_proxy"]),
        _ => first_set(env, ["HTTPS_PROXY", "https_proxy"]),
    };
    specific.or_else(|| first_set(env, ["ALL_PROXY", "all_proxy"]))
}

/// Returns the name and value of the first of `names` that is set to a non-empty value.
fn first_set<'env>(
    env: &'env EnvVars,
    names: [&'static str; 2],
) -> Option<(&'static str, &'env str)> {
    names
        .into_iter()
        .find_map(|name| env.get(name).map(|value| (name, value)))
        .filter(|(_, value)| !value.is_empty())
}

/// Returns whether hyper-util's matcher rejects `value` as a proxy address, whatever the host.
fn names_unparsable_proxy(value: &str) -> bool {
    let matcher = Matcher::builder().all(value).build();
    matcher
        .intercept(&Uri::from_static("https://rekaz.invalid/"))
        .is_none()
}

/// Adds the scheme's default port, which the tunnel's `CONNECT host:port` needs. Without it
/// the tunnel assumes 443, also for an http upstream.
fn with_default_port(destination: Uri) -> Uri {
    if destination.port().is_some() {
        return destination;
    }
    let port = if destination.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    let host = destination.host().unwrap_or_default();
    Uri::builder()
        .scheme(destination.scheme_str().unwrap_or("https"))
        .authority(format!("{host}:{port}"))
        .path_and_query("/")
        .build()
        .unwrap_or(destination)
}

/// The whole connector: route, then TLS for https, within the connect timeout.
#[derive(Clone, Debug)]
pub struct UpstreamConnector {
    inner: HttpsConnector<Route>,
    timeout: Duration,
}

impl UpstreamConnector {
    /// Wraps `inner`, failing any connection not ready within `timeout`.
    pub fn new(inner: HttpsConnector<Route>, timeout: Duration) -> Self {
        UpstreamConnector { inner, timeout }
    }
}

impl Service<Uri> for UpstreamConnector {
    type Response = UpstreamStream;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let connecting = self.inner.call(destination);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// No connection to Rekaz, TLS included, within `upstream.connect_timeout`.
#[derive(Debug)]
pub struct ConnectTimeout(Duration);

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "no connection within {} s (upstream.connect_timeout)",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for ConnectTimeout {}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(upstream: &str, pairs: &[(&str, &str)]) -> Result<Route, ClientError> {
        let env: EnvVars = pairs.iter().copied().collect();
        Route::from_env(&upstream.parse().unwrap(), &env, HttpConnector::new())
    }

    #[test]
    fn no_variables_connect_directly() {
        assert!(matches!(
            route("https://api.example.test", &[]),
            Ok(Route::Direct(_))
        ));
    }

    #[test]
    fn https_proxy_tunnels_https_upstream() {
        let pairs = [("HTTPS_PROXY", "http://127.0.0.1:3128")];
        assert!(matches!(
            route("https://api.example.test", &pairs),
            Ok(Route::Tunnel(_))
        ));
    }

    #[test]
    fn no_proxy_exempts_the_host() {
        let pairs = [
            ("HTTPS_PROXY", "http://127.0.0.1:3128"),
            ("NO_PROXY", "example.test"),
        ];
        assert!(matches!(
            route("https://api.example.test", &pairs),
            Ok(Route::Direct(_))
        ));
    }

    #[test]
    fn cgi_request_ignores_http_proxy() {
        let pairs = [
            ("HTTP_PROXY", "http://127.0.0.1:3128"),
            ("REQUEST_METHOD", "GET"),
        ];
        assert!(matches!(
            route("http://api.example.test", &pairs),
            Ok(Route::Direct(_))
        ));
    }

    #[test]
    fn tls_proxy_is_rejected_by_address() {
        let pairs = [("HTTPS_PROXY", "https://user:pw@127.0.0.1:3129")];
        let error = route("https://api.example.test", &pairs)
            .unwrap_err()
            .to_string();
        assert!(error.contains("https://127.0.0.1:3129"), "{error}");
        assert!(!error.contains("pw"), "{error}");
    }

    #[test]
    fn unparsable_proxy_is_rejected_by_name() {
        let pairs = [("https_proxy", "http://user:pw@[::1")];
        let error = route("https://api.example.test", &pairs)
            .unwrap_err()
            .to_string();
        assert!(error.contains("https_proxy"), "{error}");
        assert!(!error.contains("pw"), "{error}");
    }

    #[test]
    fn empty_proxy_connects_directly() {
        let pairs = [("HTTPS_PROXY", ""), ("ALL_PROXY", "")];
        assert!(matches!(
            route("https://api.example.test", &pairs),
            Ok(Route::Direct(_))
        ));
    }

    #[test]
    fn default_port_follows_scheme() {
        let http = with_default_port("http://api.example.test/x".parse().unwrap());
        assert_eq!(http.port_u16(), Some(80));
        let https = with_default_port("https://api.example.test".parse().unwrap());
        assert_eq!(https.port_u16(), Some(443));
    }

    #[test]
    fn proxy_port_out_of_range_is_rejected() {
        let pairs = [("HTTPS_PROXY", "http://127.0.0.1:99999")];
        let error = route("https://api.example.test", &pairs)
            .unwrap_err()
            .to_string();
        assert!(error.contains("HTTPS_PROXY"), "{error}");
    }

    #[test]
    fn proxy_without_port_uses_1080() {
        let pairs = [("HTTPS_PROXY", "http://127.0.0.1")];
        let Ok(Route::Tunnel(tunnel)) = route("https://api.example.test", &pairs) else {
            panic!("expected a tunnel");
        };
        assert!(
            format!("{tunnel:?}").contains("127.0.0.1:1080"),
            "{tunnel:?}"
        );
    }
}
