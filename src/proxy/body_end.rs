//! Reports when a streamed request body has been sent, so that `upstream.timeout` counts the
//! time Rekaz takes to respond and not the time the client takes to upload.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

pin_project_lite::pin_project! {
    /// Passes `inner` through and fires its [`BodySent`] when `inner` ends, fails or is
    /// dropped, whichever comes first.
    pub struct EndSignal<B> {
        #[pin]
        inner: B,
        // Dropping the sender fires the signal: the receiver then resolves.
        sender: Option<oneshot::Sender<()>>,
    }
}

/// Fires once the request body has been sent, or will never be.
#[derive(Debug)]
pub struct BodySent(Option<oneshot::Receiver<()>>);

impl BodySent {
    /// Returns a signal that has already fired, for a body that goes out whole.
    pub fn already() -> Self {
        BodySent(None)
    }

    /// Returns whether the signal has fired.
    pub fn has_fired(&self) -> bool {
        self.0.is_none()
    }

    /// Waits until the signal fires.
    pub async fn wait(self) {
        if let Some(receiver) = self.0 {
            // An error means the sender is gone, which is how the signal fires.
            let _ = receiver.await;
        }
    }
}

/// Wraps `inner` in a body that fires the returned signal when it is done.
pub fn signal_end<B>(inner: B) -> (EndSignal<B>, BodySent) {
    let (sender, receiver) = oneshot::channel();
    let body = EndSignal {
        inner,
        sender: Some(sender),
    };
    (body, BodySent(Some(receiver)))
}

impl<B: Body> Body for EndSignal<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(context);
        let finished = matches!(polled, Poll::Ready(None | Some(Err(_))));
        // hyper stops polling once a body reports its end, such as after the last byte of its
        // Content-Length, so that end counts as well.
        if finished || this.inner.is_end_stream() {
            *this.sender = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
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

    fn stream_of(chunks: Vec<&'static [u8]>) -> impl Body<Data = Bytes, Error = std::io::Error> {
        let frames = chunks
            .into_iter()
            .map(|chunk| Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(chunk))));
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn signal_waits_for_the_last_frame() {
        let (mut body, sent) = signal_end(stream_of(vec![b"first", b"last"]));
        let mut receiver = sent.0.expect("a streamed body has a receiver");

        body.frame().await.expect("a frame").expect("no error");
        assert_eq!(
            receiver.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        );
        body.frame().await.expect("a frame").expect("no error");
        assert!(body.frame().await.is_none());
        assert_eq!(
            receiver.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
    }

    #[tokio::test]
    async fn dropped_body_fires_the_signal() {
        let (body, sent) = signal_end(stream_of(vec![b"never read"]));
        assert!(!sent.has_fired());
        drop(body);
        sent.wait().await;
    }
}
