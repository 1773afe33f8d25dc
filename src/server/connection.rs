//! One client connection: HTTP/1.1 or HTTP/2 served by hyper, closed when the client stalls
//! before a request, and closed or drained at shutdown.
//!
//! hyper's own `header_read_timeout` (hyper 1.13) starts when the connection waits for the next
//! request, so it would also bound idle keep-alive connections. So the connection tracks its own
//! phase instead: waiting for request headers, idle between requests, or busy with at least one
//! request. An idle HTTP/1.1 connection also gives up hyper's state until its next request
//! arrives (see [`protocol`]).

mod activity;
mod protocol;
mod service;
mod stream;

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use self::activity::Activity;
pub use self::protocol::Protocols;
use self::protocol::{ConnectionError, Served};
use self::service::ConnectionService;
use self::stream::ClientStream;

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

/// Serves one accepted connection with `protocols` until it ends, times out, or shutdown closes
/// it. Once `draining` starts, an idle HTTP/1 connection closes at once, and the others finish
/// the requests they have and close.
pub async fn serve_connection(
    protocols: &Protocols,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: ClientTimeouts,
    draining: Draining,
) {
    let activity = Arc::new(Activity::default());
    let stream = ClientStream::new(stream, Arc::clone(&activity));
    let service = ConnectionService::new(router, peer, Arc::clone(&activity));
    let served = Served::new(stream, service);
    let end = drive(served, protocols, &activity, timeouts, draining).await;
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

/// How long an HTTP/1.1 connection idles before it gives up hyper's state. Rebuilding that
/// state costs about 3,000 instructions, so a connection in steady use never parks. The delay
/// is no shorter than the runtime's wake-up tick (`wake_floor`), so setting it costs no
/// system call.
const PARK_AFTER_IDLE: Duration = Duration::from_millis(750);
const _: () = assert!(PARK_AFTER_IDLE.as_millis() >= super::wake_floor::PERIOD.as_millis());

/// The reason a connection stopped being served.
enum ConnectionEnd {
    /// hyper finished the connection: the client closed it, or an error ended it.
    Closed(Result<(), ConnectionError>),
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

/// Polls `served` and enforces the phase timeouts and shutdown on it.
async fn drive(
    mut served: Served,
    protocols: &Protocols,
    activity: &Activity,
    timeouts: ClientTimeouts,
    draining: Draining,
) -> ConnectionEnd {
    let mut deadline = pin!(tokio::time::sleep(timeouts.header));
    let mut phase = Phase::Headers;
    let mut idle_since = Instant::now();
    let mut may_park = false;
    let Draining { started, mut wake } = draining;
    // Polled once to register the task's waker, then again only after the flag is set, so a
    // busy connection takes no lock on each wake-up. An error means the server is gone.
    let mut woken_at_drain = pin!(async move {
        let _ = wake.changed().await;
    });
    let mut wake_registered = false;
    let mut stopping = false;

    poll_fn(|context| {
        if let Poll::Ready(result) = served.poll(context, protocols, activity, may_park) {
            return Poll::Ready(ConnectionEnd::Closed(result));
        }
        if !stopping && (!wake_registered || started.load(Ordering::Acquire)) {
            wake_registered = true;
            let _ = woken_at_drain.as_mut().poll(context);
        }
        if !stopping && started.load(Ordering::Acquire) {
            stopping = true;
            if !activity.is_http2() && !activity.is_busy() {
                return Poll::Ready(ConnectionEnd::ShutDown);
            }
            served.graceful_shutdown();
            if let Poll::Ready(result) = served.poll(context, protocols, activity, may_park) {
                return Poll::Ready(ConnectionEnd::Closed(result));
            }
        }

        let next = next_phase(phase, activity);
        if next != phase {
            phase = next;
            may_park = false;
            match phase {
                Phase::Headers => deadline.as_mut().reset(Instant::now() + timeouts.header),
                Phase::Idle => {
                    idle_since = Instant::now();
                    deadline
                        .as_mut()
                        .reset(idle_since + PARK_AFTER_IDLE.min(timeouts.idle));
                }
                Phase::Busy => {}
            }
        }
        if phase == Phase::Busy || deadline.as_mut().poll(context).is_pending() {
            return Poll::Pending;
        }
        if phase == Phase::Idle && !may_park {
            // Idle long enough: park, and wait out the rest of the idle timeout.
            may_park = true;
            if let Poll::Ready(result) = served.poll(context, protocols, activity, may_park) {
                return Poll::Ready(ConnectionEnd::Closed(result));
            }
            deadline.as_mut().reset(idle_since + timeouts.idle);
            if deadline.as_mut().poll(context).is_pending() {
                return Poll::Pending;
            }
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
    if activity.is_http2() {
        return Phase::Idle;
    }
    // A new connection stays in `Headers` from the start, whether or not bytes came.
    if current == Phase::Headers || activity.is_request_started() {
        return Phase::Headers;
    }
    Phase::Idle
}
