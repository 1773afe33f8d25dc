//! One client exchange from request to the end of the response body: what the access log and
//! the diagnosis need, gathered as the request moves through the proxy.

use std::borrow::Cow;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::response::Parts as ResponseParts;
use http::{request, HeaderMap, HeaderValue, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};

use super::body_timeout::BoxError;
use super::error::ProxyError;
use super::forward::{logged_target, new_correlation_id};
use super::headers::{StrippedClientCredentials, CORRELATION_ID};
use super::in_flight::{InFlight, InFlightGuard};
use super::request_body::RequestBody;
use super::upstream_error::error_chain;
use super::ProxyState;
use crate::credentials::ActiveCredentials;
use crate::diagnosis::{peer_ip, Diagnostics, ExchangeFacts};
use crate::metrics::Metrics;

/// Bytes of an error response body kept for diagnosis; the rest streams past unread.
pub const DIAGNOSIS_PREFIX_BYTES: usize = 16 * 1024;

/// Bytes of a client's correlation id that reach the logs; the rest is cut off.
const LOGGED_CORRELATION_ID_BYTES: usize = 128;

/// Returns the correlation id as logged: as sent when it is short visible ASCII, else its
/// first [`LOGGED_CORRELATION_ID_BYTES`] bytes with other bytes escaped as `\xNN`, and `...`
/// when cut.
pub(crate) fn loggable_correlation_id(value: &HeaderValue) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    if bytes.len() <= LOGGED_CORRELATION_ID_BYTES {
        if let Ok(text) = value.to_str() {
            return Cow::Borrowed(text);
        }
    }
    let kept = &bytes[..bytes.len().min(LOGGED_CORRELATION_ID_BYTES)];
    let mut text = kept.escape_ascii().to_string();
    if kept.len() < bytes.len() {
        text.push_str("...");
    }
    Cow::Owned(text)
}

/// An exchange in progress.
pub struct Exchange {
    started: Instant,
    method: Method,
    target: String,
    correlation_id: HeaderValue,
    upstream_latency: Option<Duration>,
    request_body: Option<Bytes>,
    request_streamed: bool,
    request_content_type: Option<HeaderValue>,
    client_credentials: StrippedClientCredentials,
    credentials: Option<Arc<ActiveCredentials>>,
    user_agent: HeaderValue,
    peer_ip: Option<IpAddr>,
    client_user_agent: Option<HeaderValue>,
    in_flight: InFlight,
    in_flight_guard: Option<InFlightGuard>,
    replayed: bool,
    diagnostics: Arc<Diagnostics>,
    metrics: Arc<Metrics>,
}

impl Exchange {
    /// Starts recording an exchange for the request described by `parts`.
    pub fn start(state: &ProxyState, parts: &request::Parts) -> Self {
        let correlation_id = parts
            .headers
            .get(CORRELATION_ID)
            .cloned()
            .unwrap_or_else(new_correlation_id);
        Exchange {
            started: Instant::now(),
            method: parts.method.clone(),
            target: logged_target(parts),
            correlation_id,
            upstream_latency: None,
            request_body: None,
            request_streamed: false,
            request_content_type: parts.headers.get(http::header::CONTENT_TYPE).cloned(),
            client_credentials: StrippedClientCredentials::default(),
            credentials: None,
            user_agent: state.upstream.user_agent.clone(),
            peer_ip: peer_ip(&parts.extensions),
            client_user_agent: parts.headers.get(http::header::USER_AGENT).cloned(),
            in_flight: state.in_flight.clone(),
            in_flight_guard: None,
            replayed: false,
            diagnostics: Arc::clone(&state.diagnostics),
            metrics: Arc::clone(&state.metrics),
        }
    }

    /// Returns the correlation id to send upstream: the client's, or a new one.
    pub fn correlation_header(&self) -> HeaderValue {
        self.correlation_id.clone()
    }

    /// Records the request body's form; a held body stays available for diagnosis.
    pub fn note_request_body(&mut self, body: &RequestBody) {
        self.request_body = body.held().cloned();
        self.request_streamed = body.is_streaming();
    }

    /// Records the credentials used and the ones the client tried to send.
    pub fn note_client_credentials(
        &mut self,
        stripped: StrippedClientCredentials,
        credentials: &Arc<ActiveCredentials>,
    ) {
        self.client_credentials = stripped;
        self.credentials = Some(Arc::clone(credentials));
    }

    /// Records that Rekaz rejected the credentials and the request was sent again with
    /// `credentials`, which the diagnosis then describes.
    pub fn note_replayed(&mut self, credentials: &Arc<ActiveCredentials>) {
        self.replayed = true;
        self.credentials = Some(Arc::clone(credentials));
    }

    /// Marks the request as sent to Rekaz; it counts as in flight until the exchange ends.
    pub fn note_sent(&mut self) {
        self.in_flight_guard = Some(self.in_flight.enter());
    }

    /// Records the time Rekaz took to send response headers.
    pub fn note_upstream_latency(&mut self, latency: Duration) {
        self.upstream_latency = Some(latency);
    }

    /// Logs an exchange the proxy could not complete.
    pub fn fail(self, error: &ProxyError) {
        let (status, _) = error.status_and_code();
        let correlation_id = loggable_correlation_id(&self.correlation_id);
        tracing::warn!(
            target: "rekaz_proxy::access",
            method = %self.method,
            path = %self.target,
            status = status.as_u16(),
            upstream_ms = self.upstream_latency.map(|latency| latency.as_millis() as u64),
            total_ms = self.started.elapsed().as_millis() as u64,
            correlation_id = &*correlation_id,
            replayed = self.replayed,
            error = %error,
            "exchange failed in the proxy"
        );
        self.metrics
            .record(&self.method, status, self.upstream_latency);
        let in_flight = self.in_flight.count();
        let empty = HeaderMap::new();
        let facts = self.facts(status, &empty, &[], Some(error), &correlation_id, in_flight);
        self.diagnostics.examine(&facts);
    }

    /// Keeps what the end-of-body log needs from Rekaz's response headers.
    pub fn into_pending(self, response: &ResponseParts) -> PendingExchange {
        let inspect = !response.status.is_success();
        PendingExchange {
            status: response.status,
            headers: if inspect {
                response.headers.clone()
            } else {
                HeaderMap::new()
            },
            prefix: inspect.then(BytesMut::new),
            bytes: 0,
            exchange: self,
        }
    }

    fn facts<'a>(
        &'a self,
        status: StatusCode,
        headers: &'a HeaderMap,
        body_prefix: &'a [u8],
        proxy_error: Option<&'a ProxyError>,
        correlation_id: &'a str,
        in_flight: usize,
    ) -> ExchangeFacts<'a> {
        ExchangeFacts {
            method: &self.method,
            target: &self.target,
            status,
            response_headers: headers,
            body_prefix,
            request_body: self.request_body.as_ref(),
            request_streamed: self.request_streamed,
            request_content_type: self.request_content_type.as_ref(),
            client_credentials: self.client_credentials,
            credentials: self.credentials.as_ref(),
            user_agent: &self.user_agent,
            peer_ip: self.peer_ip,
            client_user_agent: self.client_user_agent.as_ref(),
            correlation_id,
            proxy_error,
            in_flight,
        }
    }
}

/// An exchange whose response headers went to the client; finished when the body ends.
pub struct PendingExchange {
    exchange: Exchange,
    status: StatusCode,
    headers: HeaderMap,
    prefix: Option<BytesMut>,
    bytes: u64,
}

/// How the response body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyEnd {
    Complete,
    /// Reading from Rekaz failed or stalled; the reason with its sources.
    Failed(String),
    ClientGone,
}

impl BodyEnd {
    /// The value of the access line's `body` field.
    fn name(&self) -> &'static str {
        match self {
            BodyEnd::Complete => "Complete",
            BodyEnd::Failed(_) => "Failed",
            BodyEnd::ClientGone => "ClientGone",
        }
    }
}

impl PendingExchange {
    fn observe(&mut self, data: &Bytes) {
        self.bytes += data.len() as u64;
        if let Some(prefix) = &mut self.prefix {
            let room = DIAGNOSIS_PREFIX_BYTES.saturating_sub(prefix.len());
            prefix.extend_from_slice(&data[..data.len().min(room)]);
        }
    }

    fn finish(self, end: BodyEnd) {
        let exchange = &self.exchange;
        let correlation_id = loggable_correlation_id(&exchange.correlation_id);
        let error = match &end {
            BodyEnd::Failed(reason) => Some(reason.as_str()),
            BodyEnd::Complete | BodyEnd::ClientGone => None,
        };
        macro_rules! access_line {
            ($level:ident) => {
                tracing::$level!(
                    target: "rekaz_proxy::access",
                    method = %exchange.method,
                    path = %exchange.target,
                    status = self.status.as_u16(),
                    upstream_ms = exchange.upstream_latency.map(|latency| latency.as_millis() as u64),
                    total_ms = exchange.started.elapsed().as_millis() as u64,
                    bytes = self.bytes,
                    correlation_id = &*correlation_id,
                    replayed = exchange.replayed,
                    body = end.name(),
                    error,
                    "exchange"
                )
            };
        }
        // A body cut short reached the client incomplete, so its line is a warning.
        if error.is_some() {
            access_line!(warn);
        } else {
            access_line!(info);
        }
        exchange
            .metrics
            .record(&exchange.method, self.status, exchange.upstream_latency);
        let prefix = self.prefix.as_deref().unwrap_or_default();
        let in_flight = exchange.in_flight.count();
        let facts = exchange.facts(
            self.status,
            &self.headers,
            prefix,
            None,
            &correlation_id,
            in_flight,
        );
        exchange.diagnostics.examine(&facts);
    }
}

pin_project_lite::pin_project! {
    /// A response body that counts bytes, keeps an error body's first bytes for diagnosis,
    /// and logs the exchange once when it ends, fails, or is dropped by a departing client.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        pending: Option<PendingExchange>,
        empty_from_start: bool,
    }

    impl<B> PinnedDrop for ObservedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // hyper never polls a body that is empty from the start, such as a 204's.
            let end = if *this.empty_from_start {
                BodyEnd::Complete
            } else {
                BodyEnd::ClientGone
            };
            finish(this.pending, end);
        }
    }
}

impl<B: Body> ObservedBody<B> {
    /// Wraps `inner`; `pending` is logged when the body ends.
    pub fn new(inner: B, pending: PendingExchange) -> Self {
        ObservedBody {
            empty_from_start: inner.is_end_stream(),
            inner,
            pending: Some(pending),
        }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes, Error = BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let frame = ready!(inner.as_mut().poll_frame(context));
        match &frame {
            Some(Ok(frame)) => {
                if let (Some(data), Some(pending)) = (frame.data_ref(), this.pending.as_mut()) {
                    pending.observe(data);
                }
                // hyper stops polling once Content-Length bytes have been written.
                if inner.is_end_stream() {
                    finish(this.pending, BodyEnd::Complete);
                }
            }
            Some(Err(error)) => finish(this.pending, BodyEnd::Failed(error_chain(&**error))),
            None => finish(this.pending, BodyEnd::Complete),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn finish(pending: &mut Option<PendingExchange>, end: BodyEnd) {
    if let Some(pending) = pending.take() {
        pending.finish(end);
    }
}
