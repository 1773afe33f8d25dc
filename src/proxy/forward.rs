//! The forwarding handler: one client request in, one Rekaz request out, the response streamed back.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::response::IntoResponse;
use http::request::Parts;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::body_end::BodySent;
use super::body_timeout::{BodySender, IdleTimeout};
use super::error::ProxyError;
use super::exchange::{Exchange, ObservedBody};
use super::headers::{prepare_request_headers, prepare_response_headers, CORRELATION_ID, TENANT};
use super::replay::{retry_rejected, ReplayCopy};
use super::request_body::{RequestBody, UpstreamBody};
use super::target::loggable_target;
use super::upstream_error::classify_send_error;
use super::ProxyState;

/// Forwards any request to Rekaz with the configured credentials.
pub async fn forward(
    State(state): State<Arc<ProxyState>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let mut exchange = Exchange::start(&state, &parts);

    match send(&state, parts, body, &mut exchange).await {
        Ok(response) => exchange.respond(response, state.upstream.read_timeout),
        Err(error) => {
            exchange.fail(&error);
            error.into_response()
        }
    }
}

async fn send(
    state: &ProxyState,
    mut parts: Parts,
    body: Body,
    exchange: &mut Exchange,
) -> Result<Response<Incoming>, ProxyError> {
    reject_method(&parts.method)?;
    state.guard.check(&parts)?;
    let uri = state.client.base().target(&parts.uri)?;
    let body =
        RequestBody::read(body, state.max_request_body, state.max_request_body_pause).await?;
    exchange.note_request_body(&body);

    let grant = state
        .auth
        .grant()
        .await
        .map_err(|error| ProxyError::CredentialsUnavailable(error.to_string()))?;
    let stripped = prepare_request_headers(&mut parts.headers);
    exchange.note_client_credentials(stripped, grant.credentials());

    let headers = &mut parts.headers;
    headers.insert(header::AUTHORIZATION, grant.authorization().clone());
    headers.insert(TENANT, grant.credentials().tenant_header().clone());
    headers.insert(header::USER_AGENT, state.upstream.user_agent.clone());
    headers.insert(CORRELATION_ID, exchange.correlation_header());

    // A copy to send again if Rekaz rejects the credentials; a streamed body has none.
    let replay = state
        .auth
        .can_renew()
        .then(|| ReplayCopy::of(&parts.method, &uri, &parts.headers, &body))
        .flatten();
    let (body, sent) = body.into_upstream();
    let mut request = Request::new(body);
    *request.method_mut() = parts.method;
    *request.uri_mut() = uri;
    *request.headers_mut() = parts.headers;
    let response = execute(state, request, sent, exchange).await?;
    if response.status() != StatusCode::UNAUTHORIZED || !state.auth.can_renew() {
        return Ok(response);
    }
    retry_rejected(state, response, replay, &grant, exchange).await
}

/// Rejects `CONNECT`, which would open a tunnel, and `TRACE` or IIS's `TRACK`, whose response
/// echoes the request headers and so would hand the injected credentials to the client.
///
/// Methods are case-sensitive in HTTP, but the check ignores case because servers such as
/// ASP.NET may read `trace` as `TRACE`.
fn reject_method(method: &Method) -> Result<(), ProxyError> {
    const REJECTED: [&str; 3] = ["CONNECT", "TRACE", "TRACK"];
    let name = method.as_str();
    if REJECTED
        .iter()
        .any(|rejected| rejected.eq_ignore_ascii_case(name))
    {
        return Err(ProxyError::MethodNotAllowed {
            method: name.to_owned(),
        });
    }
    Ok(())
}

/// Sends `request` to Rekaz and waits for the response headers, within `upstream.timeout` of
/// `sent` firing: the client's time to upload a streamed body does not count against Rekaz.
pub(super) async fn execute(
    state: &ProxyState,
    request: Request<UpstreamBody>,
    sent: BodySent,
    exchange: &mut Exchange,
) -> Result<Response<Incoming>, ProxyError> {
    let sent_at = Instant::now();
    exchange.note_sent();
    let response = state.client.send(request);
    let outcome = within_timeout(state.upstream.timeout, response, sent).await;
    exchange.note_upstream_latency(sent_at.elapsed());
    match outcome {
        Some(Ok(response)) => Ok(response),
        Some(Err(error)) => Err(classify_send_error(&error, state)),
        None => Err(ProxyError::UpstreamTimeout {
            seconds: state.upstream.timeout.as_secs_f64(),
        }),
    }
}

/// Waits for `response` until `timeout` has passed since `sent` fired; `None` when it has.
async fn within_timeout<F: Future>(
    timeout: Duration,
    response: F,
    sent: BodySent,
) -> Option<F::Output> {
    if sent.has_fired() {
        return tokio::time::timeout(timeout, response).await.ok();
    }
    let expired = async {
        sent.wait().await;
        tokio::time::sleep(timeout).await;
    };
    tokio::select! {
        biased;
        outcome = response => Some(outcome),
        () = expired => None,
    }
}

impl Exchange {
    /// Turns Rekaz's response into the client's, streaming the body through an observer that
    /// logs the exchange when the body ends. The body fails when Rekaz pauses longer than
    /// `max_pause` (`upstream.read_timeout`) within it.
    fn respond(
        self,
        response: Response<Incoming>,
        max_pause: Duration,
    ) -> axum::response::Response {
        let (mut parts, body) = response.into_parts();
        prepare_response_headers(&mut parts.headers);
        let body = IdleTimeout::new(body, max_pause, BodySender::Rekaz);
        let observed = ObservedBody::new(body, self.into_pending(&parts));
        axum::response::Response::from_parts(parts, Body::new(observed))
    }
}

/// Builds the correlation header value for a request that carried none.
pub(crate) fn new_correlation_id() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().simple().encode_lower(&mut buffer);
    HeaderValue::from_str(id).expect("a simple UUID is a valid header value")
}

/// Returns the logged form of the request target.
pub(crate) fn logged_target(parts: &Parts) -> String {
    loggable_target(&parts.uri)
}
