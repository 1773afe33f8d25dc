//! One client connection: HTTP/1.1 or HTTP/2 served by hyper, closed when the client stalls
//! before a request, and closed or drained at shutdown.
//!
//! hyper's own `header_read_timeout` (hyper 1.13) starts when the connection waits for the next
//! request, so it would also bound idle keep-alive connections, and the protocol detection of
//! hyper-util 0.1's `auto::Builder` reads the first bytes with no timeout. So the connection
//! tracks its own phase instead: waiting for request headers, idle between requests, or busy
//! with at least one request.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::Service as _;

/// The first bytes of an HTTP/2 connection preface (RFC 9113 section 3.4).
const HTTP2_PREFACE_START: &[u8] = b"PRI * HTTP/2.0";

/// How long a client connection may wait in each phase.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// From accepting the connection, or from the first byte of a request, until its headers
    /// are complete (`limits.client_header_timeout`).
    pub header: Duration,
    /// From the end of a response until the next request starts (`limits.client_idle_timeout`).
    pub idle: Duration,
}

/// Starts the drain of every connection at shutdown.
pub struct DrainSwitch {
    started: Arc<AtomicBool>,
    wake: watch::Sender<()>,
}

/// The drain signal as each connection sees it: a flag read on every poll without a lock,
/// and a channel that wakes the connection's task once when the drain starts.
#[derive(Clone)]
pub struct Draining {
    started: Arc<AtomicBool>,
    wake: watch::Receiver<()>,
}

impl DrainSwitch {
    /// Returns the switch and the signal to hand each connection.
    pub fn new() -> (DrainSwitch, Draining) {
        let started = Arc::new(AtomicBool::new(false));
        let (wake, receiver) = watch::channel(());
        let draining = Draining {
            started: Arc::clone(&started),
            wake: receiver,
        };
        (DrainSwitch { started, wake }, draining)
    }

    /// Starts the drain: idle HTTP/1 connections close, the others finish what they serve.
    pub fn start(&self) {
        self.started.store(true, Ordering::Release);
        // No receiver left means no connection left to wake.
        let _ = self.wake.send(());
    }
}

/// State shared by the connection's reader, its requests and its driver.
#[derive(Debug, Default)]
struct Activity {
    /// Requests whose response has not ended.
    requests: AtomicUsize,
    /// Bytes arrived while no request was in progress: the next request has started.
    request_started: AtomicBool,
    /// The client sent the HTTP/2 preface.
    http2: AtomicBool,
}

impl Activity {
    fn is_busy(&self) -> bool {
        self.requests.load(Ordering::Acquire) > 0
    }
}

/// Serves one accepted connection with `builder` until it ends, times out, or shutdown closes
/// it. Once `draining` starts, an idle HTTP/1 connection closes at once, and the others finish
/// the requests they have and close.
pub async fn serve_connection(
    builder: &auto::Builder<TokioExecutor>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: ClientTimeouts,
    draining: Draining,
) {
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(ClientStream {
        inner: stream,
        activity: Arc::clone(&activity),
        first_read: true,
    });
    let service = ConnectionService {
        router,
        peer,
        activity: Arc::clone(&activity),
    };
    let connection = builder.serve_connection(io, service);
    let end = drive(connection, &activity, timeouts, draining).await;
    match end {
        ConnectionEnd::Closed(Ok(())) => {}
        // hyper responds to such a request itself, with 400, 414 or 431, before any handler runs.
        ConnectionEnd::Closed(Err(error)) if is_parse_error(&*error) => tracing::warn!(
            %peer,
            %error,
            "rejected a request that could not be parsed, so no access line follows; a request \
             target must have <, >, \", ` and bytes that are not UTF-8 percent-encoded"
        ),
        ConnectionEnd::Closed(Err(error)) => {
            tracing::debug!(%peer, %error, "client connection ended with an error");
        }
        ConnectionEnd::HeaderTimeout => tracing::info!(
            %peer,
            timeout_seconds = timeouts.header.as_secs_f64(),
            "closed a client connection that sent no complete request headers within \
             limits.client_header_timeout"
        ),
        ConnectionEnd::IdleTimeout => tracing::debug!(
            %peer,
            timeout_seconds = timeouts.idle.as_secs_f64(),
            "closed a keep-alive connection idle for limits.client_idle_timeout"
        ),
        ConnectionEnd::ShutDown => {
            tracing::debug!(%peer, "closed a client connection with no request at shutdown");
        }
    }
}

/// Returns whether hyper ended the connection because a request could not be parsed.
fn is_parse_error(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_parse)
}

/// The reason a connection stopped being served.
enum ConnectionEnd {
    /// hyper finished the connection: the client closed it, or an error ended it.
    Closed(Result<(), Box<dyn std::error::Error + Send + Sync>>),
    /// The request headers did not arrive in time.
    HeaderTimeout,
    /// No request came in time after the previous one.
    IdleTimeout,
    /// The server stopped while the connection had no request in progress.
    ShutDown,
}

/// The phase that decides which timeout applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for request headers to complete.
    Headers,
    /// Waiting for the next request.
    Idle,
    /// At least one request in progress; the upstream timeouts bound it.
    Busy,
}

type Connection<'a> = auto::Connection<'a, TokioIo<ClientStream>, ConnectionService, TokioExecutor>;

/// Polls `connection` and enforces the phase timeouts and shutdown on it.
async fn drive(
    connection: Connection<'_>,
    activity: &Activity,
    timeouts: ClientTimeouts,
    draining: Draining,
) -> ConnectionEnd {
    let mut connection = pin!(connection);
    let mut deadline = pin!(tokio::time::sleep(timeouts.header));
    let mut phase = Phase::Headers;
    let Draining { started, mut wake } = draining;
    // Polled once to register the task's waker, then again only after the flag is set, so a
    // busy connection takes no lock on each wake-up. An error means the server is gone.
    let mut woken_at_drain = pin!(async move {
        let _ = wake.changed().await;
    });
    let mut wake_registered = false;
    let mut stopping = false;

    poll_fn(|context| {
        if let Poll::Ready(result) = connection.as_mut().poll(context) {
            return Poll::Ready(ConnectionEnd::Closed(result));
        }
        if !stopping && (!wake_registered || started.load(Ordering::Acquire)) {
            wake_registered = true;
            let _ = woken_at_drain.as_mut().poll(context);
        }
        if !stopping && started.load(Ordering::Acquire) {
            stopping = true;
            let http2 = activity.http2.load(Ordering::Relaxed);
            if !http2 && !activity.is_busy() {
                return Poll::Ready(ConnectionEnd::ShutDown);
            }
            // HTTP/1 stops keep-alive after the response in progress; HTTP/2 sends GOAWAY
            // and ends once its streams have.
            connection.as_mut().graceful_shutdown();
            if let Poll::Ready(result) = connection.as_mut().poll(context) {
                return Poll::Ready(ConnectionEnd::Closed(result));
            }
        }

        let next = next_phase(phase, activity);
        if next != phase {
            phase = next;
            match phase {
                Phase::Headers => deadline.as_mut().reset(Instant::now() + timeouts.header),
                Phase::Idle => deadline.as_mut().reset(Instant::now() + timeouts.idle),
                Phase::Busy => {}
            }
        }
        if phase == Phase::Busy || deadline.as_mut().poll(context).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(match phase {
            Phase::Headers => ConnectionEnd::HeaderTimeout,
            Phase::Idle | Phase::Busy => ConnectionEnd::IdleTimeout,
        })
    })
    .await
}

/// Returns the phase after `current`, from what the reader and the requests recorded.
fn next_phase(current: Phase, activity: &Activity) -> Phase {
    if activity.is_busy() {
        return Phase::Busy;
    }
    // An HTTP/2 client idles with pings and window updates, so only idleness counts.
    if activity.http2.load(Ordering::Relaxed) {
        return Phase::Idle;
    }
    // A new connection stays in `Headers` from the start, whether or not bytes came.
    if current == Phase::Headers || activity.request_started.load(Ordering::Relaxed) {
        return Phase::Headers;
    }
    Phase::Idle
}

/// The client's socket, noting when a request starts arriving and which protocol it speaks.
struct ClientStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    first_read: bool,
}

impl AsyncRead for ClientStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buffer.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(context, buffer);
        let received = &buffer.filled()[before..];
        if received.is_empty() {
            return result;
        }
        if this.first_read {
            this.first_read = false;
            let prefix = &HTTP2_PREFACE_START[..received.len().min(HTTP2_PREFACE_START.len())];
            if received.starts_with(prefix) && received.len() >= 4 {
                this.activity.http2.store(true, Ordering::Relaxed);
            }
        }
        let activity = &this.activity;
        if !activity.is_busy() && !activity.request_started.load(Ordering::Relaxed) {
            activity.request_started.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

/// The router as hyper calls it on one connection: adds the peer address as
/// `ConnectInfo<SocketAddr>` and counts each request as in progress until its response body
/// is dropped.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnectionService {
    type Response = http::Response<CountedBody>;
    type Error = Infallible;
    type Future = CountedFuture;

    fn call(&self, mut request: http::Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let counted = RequestInProgress::new(&self.activity);
        CountedFuture {
            inner: self.router.clone().call(request),
            counted: Some(counted),
        }
    }
}

/// Marks one request in progress until dropped.
struct RequestInProgress(Arc<Activity>);

impl RequestInProgress {
    /// Counts a request whose headers have arrived, so the next request has not started yet.
    fn new(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::AcqRel);
        activity.request_started.store(false, Ordering::Relaxed);
        RequestInProgress(Arc::clone(activity))
    }
}

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// The router's response future; hands the in-progress mark on to the response body.
    struct CountedFuture {
        #[pin]
        inner: RouteFuture<Infallible>,
        counted: Option<RequestInProgress>,
    }
}

impl Future for CountedFuture {
    type Output = Result<http::Response<CountedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = std::task::ready!(this.inner.poll(context));
        let counted = this.counted.take();
        Poll::Ready(Ok(response.map(|body| CountedBody {
            inner: body,
            _counted: counted,
        })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in progress until hyper drops it.
    struct CountedBody {
        #[pin]
        inner: Body,
        _counted: Option<RequestInProgress>,
    }
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.project().inner.poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
