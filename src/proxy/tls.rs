//! The TLS settings for the leg to Rekaz: Mozilla's roots, plus the certificates of
//! `upstream.ca_bundle`.

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::client::ClientError;

/// Reads every certificate of a PEM bundle; fails when the file cannot be read, holds a
/// malformed PEM block, or holds no certificate.
pub fn read_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let failure = |reason: String| ClientError::CaBundle {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| failure(error.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failure(format!("malformed PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(failure("no certificate found".to_owned()));
    }
    Ok(certificates)
}

/// Builds the client's TLS settings: TLS 1.2 and 1.3 with ring, trusting Mozilla's roots and
/// `extra_roots`. `bundle` names where `extra_roots` came from, for the error.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
    bundle: Option<&Path>,
) -> Result<ClientConfig, ClientError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for certificate in extra_roots {
        roots
            .add(certificate.clone())
            .map_err(|error| ClientError::CaBundle {
                path: bundle
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
                reason: format!("a certificate cannot be used as a root: {error}"),
            })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ClientError::Tls(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_without_certificates_is_rejected() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate\n").unwrap();
        let error = read_ca_bundle(file.path()).unwrap_err().to_string();
        assert!(error.contains("no certificate found"), "{error}");
        assert!(
            error.contains(&file.path().display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn missing_bundle_names_the_path() {
        let error = read_ca_bundle(Path::new("/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }

    #[test]
    fn default_roots_build_a_config() {
        assert!(client_config(&[], None).is_ok());
    }
}
