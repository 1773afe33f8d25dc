//! The probe that distinguishes a swapped key and secret from a wrong one: one read request to Rekaz
//! with the two values in reverse order.
//!
//! Rekaz gives no sign of which half of a rejected pair is wrong, and a key cannot be distinguished
//! from a secret by its shape. If the reversed pair is accepted, the values are swapped.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{header, HeaderValue, StatusCode};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::config::UpstreamSettings;
use crate::credentials::ActiveCredentials;
use crate::proxy::{error_chain, OwnCallsClient};

/// The path the probe reads: cheap, and readable by every API key.
pub const PROBE_PATH: &str = "/api/public/branches";

/// The tenant header Rekaz reads, with two leading underscores.
const TENANT: &str = "__tenant";

/// Everything needed to send the probe through the proxy's own HTTP client.
#[derive(Debug, Clone)]
pub struct SwapProbe {
    client: OwnCallsClient,
    url: Url,
    user_agent: HeaderValue,
    timeout: Duration,
}

impl SwapProbe {
    /// Prepares probes to the configured upstream, sent through `client`.
    pub fn new(client: OwnCallsClient, upstream: &UpstreamSettings) -> Self {
        let base = upstream.url.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}{PROBE_PATH}"))
            .expect("a valid base URL followed by a constant path is a valid URL");
        SwapProbe {
            client,
            url,
            user_agent: upstream.user_agent.clone(),
            timeout: upstream.timeout,
        }
    }

    /// Sends `GET /api/public/branches` with key and secret of `credentials` swapped and
    /// returns Rekaz's status, or the error that prevented a response. Returns `Ok(None)`
    /// without sending anything when the pair cannot be swapped or no Basic header is in use.
    pub async fn send(
        &self,
        credentials: &ActiveCredentials,
    ) -> Result<Option<StatusCode>, String> {
        let swapped = credentials.authorization().and_then(swapped_authorization);
        let Some(authorization) = swapped else {
            return Ok(None);
        };
        let request = self
            .client
            .get()?
            .get(self.url.clone())
            .header(header::AUTHORIZATION, authorization)
            .header(TENANT, credentials.tenant_header().clone())
            .header(header::USER_AGENT, self.user_agent.clone())
            .header(header::ACCEPT, "application/json")
            .timeout(self.timeout);
        let response = request
            .send()
            .await
            .map_err(|error| error_chain(&error.without_url()))?;
        Ok(Some(response.status()))
    }
}

/// Builds `Basic base64(secret:key)` from `Basic base64(key:secret)`.
///
/// Returns `None` when the header is not Basic or when the secret contains `:`: Basic
/// authentication splits at the first colon, so such a secret cannot be sent as a key.
fn swapped_authorization(authorization: &HeaderValue) -> Option<HeaderValue> {
    let encoded = authorization.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = SecretSlice::from(STANDARD.decode(encoded).ok()?);
    let pair = decoded.expose_secret();
    let colon = pair.iter().position(|byte| *byte == b':')?;
    let (key, secret) = (&pair[..colon], &pair[colon + 1..]);
    if secret.contains(&b':') {
        return None;
    }

    let mut reversed = Vec::with_capacity(pair.len());
    reversed.extend_from_slice(secret);
    reversed.push(b':');
    reversed.extend_from_slice(key);
    let reversed = SecretSlice::from(reversed);
    let header = SecretString::from(format!(
        "Basic {}",
        STANDARD.encode(reversed.expose_secret())
    ));
    let mut value = HeaderValue::from_str(header.expose_secret()).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(pair: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair))).unwrap()
    }

    #[test]
    fn swap_reverses_key_and_secret() {
        let swapped = swapped_authorization(&basic("the-key:the-secret")).unwrap();
        assert_eq!(swapped, basic("the-secret:the-key"));
    }

    #[test]
    fn swapped_header_is_sensitive() {
        let swapped = swapped_authorization(&basic("the-key:the-secret")).unwrap();
        assert!(swapped.is_sensitive());
    }

    #[test]
    fn secret_with_colon_is_not_swapped() {
        assert_eq!(swapped_authorization(&basic("the-key:sec:ret")), None);
    }

    #[test]
    fn bearer_header_is_not_swapped() {
        let bearer = HeaderValue::from_static("Bearer abc");
        assert_eq!(swapped_authorization(&bearer), None);
    }
}
