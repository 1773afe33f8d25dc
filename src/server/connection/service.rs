//! The router as hyper calls it on one connection, with the request and response bodies that
//! tell the connection's driver when an exchange is over.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use tower::Service as _;

use super::activity::{Activity, RequestInProgress};

/// The router as hyper calls it on one connection: adds the peer address as
/// `ConnectInfo<SocketAddr>`, counts each request as in progress until its response body is
/// dropped, and notes when its request body was read to the end.
#[derive(Clone)]
pub struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl ConnectionService {
    /// Serves `router` to the client at `peer`, recording into `activity`.
    pub fn new(router: Router, peer: SocketAddr, activity: Arc<Activity>) -> Self {
        ConnectionService {
            router,
            peer,
            activity,
        }
    }
}

impl hyper::service::Service<http::Request<Incoming>> for ConnectionService {
    type Response = http::Response<CountedBody>;
    type Error = Infallible;
    type Future = CountedFuture;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let body_finished = request.body().is_end_stream();
        let counted = RequestInProgress::new(&self.activity, body_finished);
        let unfinished = (!body_finished).then(|| Arc::clone(&self.activity));
        let mut request = request.map(|inner| RequestBody { inner, unfinished });
        request.extensions_mut().insert(ConnectInfo(self.peer));
        CountedFuture {
            inner: self.router.clone().call(request),
            counted: Some(counted),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request body that records in the connection's activity when it was read to its end.
    pub struct RequestBody {
        #[pin]
        inner: Incoming,
        // Present until the end was seen.
        unfinished: Option<Arc<Activity>>,
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut this = self.project();
        let frame = this.inner.as_mut().poll_frame(context);
        let ended = matches!(frame, Poll::Ready(None)) || this.inner.is_end_stream();
        if ended {
            if let Some(activity) = this.unfinished.take() {
                activity.set_body_finished();
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// The router's response future; hands the in-progress mark on to the response body.
    pub struct CountedFuture {
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
    pub struct CountedBody {
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
