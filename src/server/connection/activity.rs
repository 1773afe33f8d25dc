//! The record a connection's stream and requests keep for its driver: requests in progress,
//! bytes of the next request, and whether hyper could give up its HTTP/1.1 state.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// State shared by the connection's stream, its requests and its driver.
#[derive(Debug)]
pub struct Activity {
    /// Requests whose response has not ended.
    requests: AtomicUsize,
    /// Bytes arrived while no request was in progress: the next request has started.
    request_started: AtomicBool,
    /// The client sent the HTTP/2 preface.
    http2: AtomicBool,
    /// hyper parsed a request head since the connection was last resumed. Without one, a
    /// readiness event that brought no byte would park a state that never served.
    served: AtomicBool,
    /// The last request's body may still have bytes to read: the body was neither empty nor
    /// read to its end.
    body_unfinished: AtomicBool,
    /// The last write-side call on the socket was a flush that completed.
    flushed: AtomicBool,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            requests: AtomicUsize::new(0),
            request_started: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            served: AtomicBool::new(false),
            body_unfinished: AtomicBool::new(false),
            flushed: AtomicBool::new(true),
        }
    }
}

impl Activity {
    /// Returns whether a response is in progress.
    pub fn is_busy(&self) -> bool {
        self.requests.load(Ordering::Acquire) > 0
    }

    /// Returns whether bytes of a new request arrived since the last request started.
    pub fn is_request_started(&self) -> bool {
        self.request_started.load(Ordering::Relaxed)
    }

    /// Records bytes read from the client: outside a request they start the next one.
    pub fn record_received(&self) {
        if !self.is_busy() && !self.is_request_started() {
            self.request_started.store(true, Ordering::Relaxed);
        }
    }

    /// Returns whether the client speaks HTTP/2.
    pub fn is_http2(&self) -> bool {
        self.http2.load(Ordering::Relaxed)
    }

    /// Records that the client sent the HTTP/2 preface.
    pub fn set_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    /// Records whether the socket's pending writes are all flushed.
    pub fn set_flushed(&self, flushed: bool) {
        self.flushed.store(flushed, Ordering::Relaxed);
    }

    /// Records that the request being read ends with its head, or that its body was read to
    /// the end.
    pub fn set_body_finished(&self) {
        self.body_unfinished.store(false, Ordering::Release);
    }

    /// Records that hyper's HTTP/1.1 state was dropped and a new one serves the next request.
    pub fn mark_resumed(&self) {
        self.served.store(false, Ordering::Relaxed);
    }

    /// Returns whether hyper's HTTP/1.1 connection has nothing left to do until the next
    /// request: it parsed a request, the response was written and flushed, the request body
    /// was read to its end, and no byte of another request arrived.
    ///
    /// hyper 1.13 has no public test for this, so these are the signs seen from outside it.
    /// hyper itself hands back only an idle connection (see `Served::park`), so the signs
    /// mostly keep it from being asked in vain. The flush check is needed, though, because
    /// hyper can count a connection idle while its write buffer still contains part of the
    /// response. The signs err on the side of "busy": a body whose end another task saw after
    /// this check keeps the connection's state until its next request.
    pub fn is_between_requests(&self) -> bool {
        self.served.load(Ordering::Relaxed)
            && !self.is_busy()
            && !self.is_request_started()
            && !self.body_unfinished.load(Ordering::Acquire)
            && self.flushed.load(Ordering::Relaxed)
    }
}

/// Marks one request in progress until dropped.
pub struct RequestInProgress(Arc<Activity>);

impl RequestInProgress {
    /// Counts a request whose head hyper parsed, so the next request has not started yet.
    /// `body_finished` is whether the request has no body bytes left to read.
    pub fn new(activity: &Arc<Activity>, body_finished: bool) -> Self {
        activity.requests.fetch_add(1, Ordering::AcqRel);
        activity.request_started.store(false, Ordering::Relaxed);
        activity.served.store(true, Ordering::Relaxed);
        activity
            .body_unfinished
            .store(!body_finished, Ordering::Release);
        RequestInProgress(Arc::clone(activity))
    }
}

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}
