//! The client's socket as hyper reads and writes it: bytes read ahead come first, and reads
//! and flushes are recorded in the connection's [`Activity`].

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::activity::Activity;

/// The client's socket, with bytes read before hyper took it.
pub struct ClientStream {
    inner: TcpStream,
    activity: Arc<Activity>,
    /// Bytes read from the socket that hyper has not seen yet: the start of the first request
    /// after the protocol was detected, or what hyper had read but not parsed when its state
    /// was dropped.
    read_ahead: Bytes,
}

impl ClientStream {
    /// Wraps the socket of the connection that `activity` describes.
    pub fn new(inner: TcpStream, activity: Arc<Activity>) -> Self {
        ClientStream {
            inner,
            activity,
            read_ahead: Bytes::new(),
        }
    }

    /// Puts `bytes` before what the socket returns next.
    pub fn unread(&mut self, bytes: Bytes) {
        debug_assert!(self.read_ahead.is_empty(), "read-ahead bytes would be lost");
        self.read_ahead = bytes;
    }

    /// Returns whether bytes read ahead wait to be read again.
    pub fn has_read_ahead(&self) -> bool {
        !self.read_ahead.is_empty()
    }

    /// Resolves when the socket has bytes to read or was closed, and at once when bytes read
    /// ahead wait.
    pub fn poll_read_ready(&self, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.has_read_ahead() {
            return Poll::Ready(Ok(()));
        }
        self.inner.poll_read_ready(context)
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buffer.filled().len();
        let result = if this.read_ahead.is_empty() {
            Pin::new(&mut this.inner).poll_read(context, buffer)
        } else {
            let length = this.read_ahead.len().min(buffer.remaining());
            buffer.put_slice(&this.read_ahead[..length]);
            this.read_ahead.advance(length);
            if this.read_ahead.is_empty() {
                // An empty slice would still keep the whole buffer it was cut from.
                this.read_ahead = Bytes::new();
            }
            Poll::Ready(Ok(()))
        };
        if buffer.filled().len() > before {
            this.activity.record_received();
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
        self.activity.set_flushed(false);
        Pin::new(&mut self.inner).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.activity.set_flushed(false);
        Pin::new(&mut self.inner).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(context);
        if let Poll::Ready(Ok(())) = result {
            self.activity.set_flushed(true);
        }
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn read_ahead_buffer_freed_once_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("reading the address");
        let _client = TcpStream::connect(address).await.expect("connecting");
        let (socket, _) = listener.accept().await.expect("accepting");
        let mut stream = ClientStream::new(socket, Arc::new(Activity::default()));
        let read_ahead = Bytes::from(b"GET / HTTP/1.1\r\n".to_vec());
        stream.unread(read_ahead.clone());

        let mut buffer = [0; 64];
        let read = stream.read(&mut buffer).await.expect("reading");

        assert_eq!(&buffer[..read], &read_ahead[..]);
        assert!(!stream.has_read_ahead());
        assert!(
            read_ahead.is_unique(),
            "the stream still refers to the buffer"
        );
    }
}
