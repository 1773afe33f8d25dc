//! The pooled HTTPS client used for every call to Rekaz.

use std::path::Path;

use reqwest::{redirect, Certificate, Client};
use thiserror::Error;

use crate::config::UpstreamSettings;

/// The upstream client could not be built.
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

    /// reqwest rejected the settings.
    #[error("cannot build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
}

/// Builds the client: rustls with the built-in Mozilla roots plus `ca_bundle`, no redirects
/// followed, no automatic decompression, keep-alive pooling, and `HTTPS_PROXY`/`NO_PROXY` from
/// the environment.
///
/// The client has no read timeout: reqwest's would also cut the wait for response headers,
/// which `upstream.timeout` bounds instead. The response body wrapper enforces
/// `upstream.read_timeout` between body chunks.
pub fn build_client(settings: &UpstreamSettings) -> Result<Client, ClientError> {
    let mut builder = Client::builder()
        .redirect(redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .pool_max_idle_per_host(settings.pool_max_idle)
        .pool_idle_timeout(settings.pool_idle_timeout)
        .tcp_nodelay(true);

    if let Some(path) = &settings.ca_bundle {
        for certificate in read_ca_bundle(path)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    Ok(builder.build()?)
}

fn read_ca_bundle(path: &Path) -> Result<Vec<Certificate>, ClientError> {
    let failure = |reason: String| ClientError::CaBundle {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| failure(error.to_string()))?;
    let certificates =
        Certificate::from_pem_bundle(&pem).map_err(|error| failure(error.to_string()))?;
    if certificates.is_empty() {
        return Err(failure("no certificate found".to_owned()));
    }
    Ok(certificates)
}
