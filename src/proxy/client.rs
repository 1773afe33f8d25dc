//! The pooled clients for calls to Rekaz: hyper-util's for forwarded requests, and reqwest's
//! for the proxy's own calls (token endpoint, swap probe).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{self, Client};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::{redirect, Certificate};
use rustls_pki_types::CertificateDer;
use thiserror::Error;

use super::connector::{Route, UpstreamConnector};
use super::request_body::UpstreamBody;
use super::target::UpstreamBase;
use super::tls::{client_config, read_ca_bundle};
use crate::config::UpstreamSettings;
use crate::env::EnvVars;

/// An upstream client could not be built.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The CA bundle file could not be read or contains no PEM certificate.
    #[error(
        "cannot use CA bundle {path}: {reason}; give a PEM file with one or more certificates"
    )]
    CaBundle {
        /// The file's path.
        path: String,
        /// What went wrong.
        reason: String,
    },

    /// The proxy variables name a proxy the client cannot use.
    #[error(
        "cannot use the outbound proxy {proxy}: only http:// proxies are supported; set \
         HTTPS_PROXY (or ALL_PROXY) to an http:// address, or list the Rekaz host in NO_PROXY"
    )]
    Proxy {
        /// The proxy's scheme, host and port, without credentials.
        proxy: String,
    },

    /// A proxy variable is set to a value that is not a proxy URL.
    #[error(
        "cannot use the outbound proxy in {name}: its value is not a URL such as \
         http://proxy.example:3128; correct it, or unset {name} to connect to Rekaz directly"
    )]
    ProxyVariable {
        /// The variable's name, such as `HTTPS_PROXY`; its value may contain a password.
        name: String,
    },

    /// rustls rejected the TLS settings.
    #[error("cannot set up TLS: {0}")]
    Tls(String),

    /// reqwest rejected the settings.
    #[error("cannot build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
}

/// The extra roots of `upstream.ca_bundle`, read once for both clients.
#[derive(Clone)]
pub struct ExtraRoots {
    path: Option<std::path::PathBuf>,
    certificates: Vec<CertificateDer<'static>>,
}

impl ExtraRoots {
    /// Reads `upstream.ca_bundle`, if set.
    pub fn read(settings: &UpstreamSettings) -> Result<Self, ClientError> {
        let certificates = match &settings.ca_bundle {
            Some(path) => read_ca_bundle(path)?,
            None => Vec::new(),
        };
        Ok(ExtraRoots {
            path: settings.ca_bundle.clone(),
            certificates,
        })
    }

    fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Builds reqwest's client for the proxy's own calls: rustls with the built-in Mozilla roots
/// plus `roots`, no redirects followed, no automatic decompression, keep-alive pooling, and
/// `HTTPS_PROXY`/`NO_PROXY` from the environment.
fn build_client(
    settings: &UpstreamSettings,
    roots: &ExtraRoots,
) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .tcp_nodelay(true);
    for certificate in &roots.certificates {
        builder = builder.add_root_certificate(Certificate::from_der(certificate)?);
    }
    Ok(builder.build()?)
}

/// reqwest's client for the proxy's own calls to Rekaz (token endpoint, swap probe), built on
/// first use. A proxy in Basic mode whose credentials Rekaz accepts never needs it, and
/// building it sets up a second TLS stack at start.
#[derive(Clone)]
pub struct OwnCallsClient(Arc<OwnCallsParts>);

struct OwnCallsParts {
    settings: UpstreamSettings,
    roots: ExtraRoots,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl OwnCallsClient {
    /// Keeps what the client is built from; `roots` comes from [`ExtraRoots::read`].
    pub fn new(settings: &UpstreamSettings, roots: &ExtraRoots) -> Self {
        OwnCallsClient(Arc::new(OwnCallsParts {
            settings: settings.clone(),
            roots: roots.clone(),
            client: OnceLock::new(),
        }))
    }

    /// Returns the client, building it on the first call. The error names what reqwest
    /// rejected, and later calls return it again.
    pub fn get(&self) -> Result<&reqwest::Client, String> {
        let parts = &*self.0;
        parts
            .client
            .get_or_init(|| {
                build_client(&parts.settings, &parts.roots).map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl fmt::Debug for OwnCallsClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("OwnCallsClient")
            .field("built", &self.0.client.get().is_some())
            .finish_non_exhaustive()
    }
}

/// The client that forwards requests: hyper-util's pooled client over rustls, HTTP/2 when
/// Rekaz offers it by ALPN, else HTTP/1.1. It never follows redirects, retries or decompresses;
/// the response reaches the client as Rekaz sent it.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    client: Client<UpstreamConnector, UpstreamBody>,
    base: UpstreamBase,
}

impl UpstreamClient {
    /// Builds the client for `settings.url`, routed through the proxy `env` names, if any.
    pub fn build(
        settings: &UpstreamSettings,
        roots: &ExtraRoots,
        env: &EnvVars,
    ) -> Result<Self, ClientError> {
        let base = UpstreamBase::new(&settings.url);
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let route = Route::from_env(&base.origin(), env, tcp)?;
        let tls = client_config(&roots.certificates, roots.path())?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(route);
        let connector = UpstreamConnector::new(https, settings.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(settings.pool_max_idle)
            .pool_idle_timeout(settings.pool_idle_timeout)
            .build(connector);
        Ok(UpstreamClient { client, base })
    }

    /// Returns the upstream's scheme, host and base path.
    pub fn base(&self) -> &UpstreamBase {
        &self.base
    }

    /// Sends `request`, whose URI comes from [`UpstreamBase::target`], and waits for the
    /// response headers.
    pub async fn send(
        &self,
        request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, legacy::Error> {
        self.client.request(request).await
    }
}
