//! Diagnoses of exchanges that failed inside the proxy, before Rekaz sent a response.

use super::emit::Diagnosis;
use super::mask::{clean_text, mask_values};
use super::server_errors::timed_out;
use super::Cause;
use super::ExchangeFacts;
use crate::proxy::ProxyError;

/// Names the cause and the next step for each of the proxy's own failures.
pub fn diagnose(error: &ProxyError, facts: &ExchangeFacts<'_>) -> Diagnosis {
    match error {
        ProxyError::InvalidPath { reason, .. } => Diagnosis::new(
            Cause::InvalidPath,
            format!(
                "The proxy rejected the request path: {}",
                clean_text(reason)
            ),
            "Send the path as Rekaz documents it, without . or .. segments",
        ),
        ProxyError::MethodNotAllowed { method } => Diagnosis::new(
            Cause::MethodNotAllowed,
            format!("The proxy does not forward {method} requests"),
            "Call a Rekaz path with GET, POST, PUT, PATCH or DELETE",
        ),
        ProxyError::HostNotAllowed { host } => Diagnosis::new(
            Cause::HostNotAllowed,
            format!("The proxy rejected Host {:?}", clean_text(host)),
            "Call the proxy as 127.0.0.1 or localhost, or list the name clients use in \
             guard.allowed_hosts; a browser page reaching the proxy through DNS rebinding \
             would look like this",
        ),
        ProxyError::OriginNotAllowed { origin } => Diagnosis::new(
            Cause::OriginNotAllowed,
            format!(
                "The proxy rejected a request from the browser origin {:?}",
                clean_text(origin)
            ),
            "Backend services send no Origin header; if a page should call Rekaz through \
             the proxy, list its origin in guard.allowed_origins",
        ),
        ProxyError::CrossSiteRequest => Diagnosis::new(
            Cause::CrossSiteRequest,
            "The proxy rejected a request a browser sent for a page of another site",
            "Backend services send no Sec-Fetch-Site header; a web page that points an image, \
             script or link at the proxy looks like this",
        ),
        ProxyError::BodyTooLarge { limit } => Diagnosis::new(
            Cause::BodyTooLarge,
            format!("The request body is larger than the {limit}-byte limit"),
            "Send a smaller body, or raise limits.max_request_body_bytes",
        ),
        ProxyError::ClientBody(reason) => Diagnosis::new(
            Cause::ClientBodyFailed,
            "Reading the request body from the client failed",
            "Check the client: it closed the connection or sent fewer bytes than its \
             Content-Length",
        )
        .with_detail(Some(clean_text(reason))),
        ProxyError::UpstreamUnreachable { upstream, cause } => Diagnosis::new(
            Cause::UpstreamUnreachable,
            format!("The proxy cannot connect to Rekaz at {upstream}"),
            "Check upstream.url, DNS, the firewall and the HTTPS_PROXY and NO_PROXY variables",
        )
        .with_detail(Some(clean_text(cause))),
        ProxyError::UpstreamTimeout { seconds } => timed_out(
            format!(
                "Rekaz sent no response within {seconds} s, with {} request(s) in flight to \
                 Rekaz",
                facts.in_flight
            ),
            facts.in_flight,
        ),
        ProxyError::UpstreamFailed(reason) => Diagnosis::new(
            Cause::UpstreamFailed,
            "The exchange with Rekaz broke after connecting",
            "Retry a read; repeat a write only after checking that it did not take effect. \
             Behind TLS inspection, give its CA in upstream.ca_bundle",
        )
        .with_detail(Some(clean_text(reason))),
        ProxyError::CredentialsUnavailable(reason) => Diagnosis::new(
            Cause::CredentialsUnavailable,
            "The proxy has no usable Rekaz credentials",
            "Fix the credential source named in the detail field; the proxy re-reads secret \
             files when they change and every source on SIGHUP, so no restart is needed unless \
             the values come from environment variables",
        )
        .with_detail(Some(mask_values(reason))),
    }
}
