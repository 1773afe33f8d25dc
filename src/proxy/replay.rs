//! Handling of a 401 from Rekaz: renew the credentials once, and send the request again when
//! that gave new ones and the request can be sent twice.
//!
//! Regenerating a key in Rekaz revokes the old one at once, so the first calls after a rotation
//! fail until the proxy reads the new key. Rekaz rejects a request before acting on it, so
//! sending a rejected request again cannot apply it twice.

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;

use super::body_end::BodySent;
use super::error::ProxyError;
use super::exchange::{loggable_correlation_id, Exchange};
use super::forward::execute;
use super::headers::TENANT;
use super::request_body::{RequestBody, UpstreamBody};
use super::ProxyState;
use crate::auth::{Grant, Renewal};

/// Renews what Rekaz rejected and, when new credentials came of it and `replay` contains a copy
/// of the request, sends the copy with them. Otherwise returns `rejected` for the client.
pub(super) async fn retry_rejected(
    state: &ProxyState,
    rejected: Response<Incoming>,
    replay: Option<ReplayCopy>,
    grant: &Grant,
    exchange: &mut Exchange,
) -> Result<Response<Incoming>, ProxyError> {
    let correlation = exchange.correlation_header();
    let correlation_id = &*loggable_correlation_id(&correlation);

    match (state.auth.renew_after_rejection(grant).await, replay) {
        (Renewal::Renewed(fresh), Some(copy)) => {
            let mut request = copy.into_request();
            let headers = request.headers_mut();
            headers.insert(header::AUTHORIZATION, fresh.authorization().clone());
            headers.insert(TENANT, fresh.credentials().tenant_header().clone());
            exchange.note_replayed(fresh.credentials());
            tracing::info!(
                correlation_id,
                key = %fresh.credentials().key_hint,
                "Rekaz rejected the credentials; sending the request again with renewed ones"
            );
            drop(rejected);
            execute(state, request, BodySent::already(), exchange).await
        }
        (Renewal::Renewed(fresh), None) => {
            tracing::warn!(
                correlation_id,
                key = %fresh.credentials().key_hint,
                "Rekaz rejected the credentials and they have since been renewed, but the request \
                 body was streamed, so the proxy could not send it again; the client may retry"
            );
            Ok(rejected)
        }
        (Renewal::Unchanged, _) => Ok(rejected),
        (Renewal::Failed(reason), _) => {
            tracing::warn!(
                correlation_id,
                %reason,
                "Rekaz rejected the credentials and renewing them failed"
            );
            Ok(rejected)
        }
    }
}

/// A copy of a request to send it again: everything but a streamed body, which is gone once
/// sent.
pub(super) struct ReplayCopy {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl ReplayCopy {
    /// Copies the request; `None` when its body streams.
    pub(super) fn of(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &RequestBody,
    ) -> Option<Self> {
        let body = match body {
            RequestBody::Empty => Bytes::new(),
            RequestBody::Held(bytes) => bytes.clone(),
            RequestBody::Streaming(_) => return None,
        };
        Some(ReplayCopy {
            method: method.clone(),
            uri: uri.clone(),
            headers: headers.clone(),
            body,
        })
    }

    fn into_request(self) -> Request<UpstreamBody> {
        let mut request = Request::new(UpstreamBody::Left(Full::new(self.body)));
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.headers_mut() = self.headers;
        request
    }
}
