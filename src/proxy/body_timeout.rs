//! A body wrapper that fails when its sender pauses too long between two frames.

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error type of a wrapped body: the inner body's error or [`BodyStalled`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The side of the proxy that sends a body, and the setting that bounds its pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySender {
    /// Rekaz, sending a response body; bounded by `upstream.read_timeout`.
    Rekaz,
    /// The client, sending a request body; bounded by `limits.client_idle_timeout`.
    Client,
}

/// A body sent no frame within the allowed pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyStalled {
    sender: BodySender,
    limit: Duration,
}

impl fmt::Display for BodyStalled {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.limit.as_secs_f64();
        match self.sender {
            BodySender::Rekaz => write!(
                formatter,
                "Rekaz sent no response body data for {seconds} s (upstream.read_timeout)"
            ),
            BodySender::Client => write!(
                formatter,
                "the client sent no request body data for {seconds} s \
                 (limits.client_idle_timeout)"
            ),
        }
    }
}

impl std::error::Error for BodyStalled {}

pin_project_lite::pin_project! {
    /// Passes `inner` through and ends it with [`BodyStalled`] when no frame arrives within
    /// `limit` of the previous one, or of the first poll.
    ///
    /// The clock runs only while the inner body has nothing ready, and restarts after each
    /// frame when polled again, so time the reader spends not polling (a slow client reading
    /// a response) never counts against the sender.
    pub struct IdleTimeout<B> {
        #[pin]
        inner: B,
        // Created on the first pause, so a body that is always ready starts no timer.
        #[pin]
        pause: Option<Sleep>,
        limit: Duration,
        sender: BodySender,
        progressed: bool,
        stalled: bool,
    }
}

impl<B> IdleTimeout<B> {
    /// Wraps `inner`, allowing pauses of up to `limit` from `sender`.
    pub fn new(inner: B, limit: Duration, sender: BodySender) -> Self {
        IdleTimeout {
            inner,
            pause: None,
            limit,
            sender,
            progressed: false,
            stalled: false,
        }
    }
}

impl<B> Body for IdleTimeout<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if *this.stalled {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => {
                *this.progressed = true;
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }

        let deadline = Instant::now() + *this.limit;
        match this.pause.as_mut().as_pin_mut() {
            None => this.pause.set(Some(tokio::time::sleep_until(deadline))),
            Some(pause) if *this.progressed => pause.reset(deadline),
            Some(_) => {}
        }
        *this.progressed = false;
        let pause = this
            .pause
            .as_pin_mut()
            .expect("the pause timer was just set");
        if pause.poll(context).is_pending() {
            return Poll::Pending;
        }
        *this.stalled = true;
        let stalled = BodyStalled {
            sender: *this.sender,
            limit: *this.limit,
        };
        Poll::Ready(Some(Err(Box::new(stalled))))
    }

    fn is_end_stream(&self) -> bool {
        self.stalled || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    type Sent = Result<Frame<Bytes>, std::io::Error>;

    /// Returns a body that yields what is sent on the channel, and ends when it closes.
    fn channel_body() -> (
        tokio::sync::mpsc::UnboundedSender<Sent>,
        StreamBody<impl futures_util::Stream<Item = Sent> + Unpin>,
    ) {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let stream = futures_util::stream::poll_fn(move |context| receiver.poll_recv(context));
        (sender, StreamBody::new(stream))
    }

    #[tokio::test]
    async fn pause_over_limit_ends_body() {
        let (sender, inner) = channel_body();
        let limit = Duration::from_millis(50);
        let mut body = std::pin::pin!(IdleTimeout::new(inner, limit, BodySender::Rekaz));
        sender.send(Ok(Frame::data(Bytes::from("first")))).unwrap();

        let first = body.frame().await.unwrap().unwrap();
        let error = body.frame().await.unwrap().unwrap_err();

        assert_eq!(first.into_data().unwrap(), "first");
        assert!(
            error.to_string().contains("upstream.read_timeout"),
            "{error}"
        );
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn ready_frames_pass_untouched() {
        let (sender, inner) = channel_body();
        let body = IdleTimeout::new(inner, Duration::from_secs(60), BodySender::Client);
        for chunk in ["a", "b", "c"] {
            sender.send(Ok(Frame::data(Bytes::from(chunk)))).unwrap();
        }
        drop(sender);

        let collected = body.collect().await.unwrap().to_bytes();

        assert_eq!(collected, "abc");
    }
}
