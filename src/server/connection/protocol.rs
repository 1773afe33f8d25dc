//! hyper's side of one connection: telling HTTP/1.1 from HTTP/2, serving either, and dropping
//! hyper's HTTP/1.1 state while the connection waits for its next request.
//!
//! hyper 1.13 keeps an 8 KiB write buffer and an 8 or 16 KiB read buffer for each HTTP/1.1
//! connection for as long as the connection lives. With them, an idle keep-alive connection
//! cost about 20 KiB of resident memory (`bench/run.sh`, 10,000 idle connections). So once
//! hyper has sent a response and has nothing left to read or write, the connection is
//! *parked*: hyper's state is taken apart with `into_parts`, which returns the socket and any
//! bytes read ahead, and a new state is built when the next request arrives.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, ReadBuf};

use super::activity::Activity;
use super::service::ConnectionService;
use super::stream::ClientStream;

/// The connection preface an HTTP/2 client sends first (RFC 9113 section 3.4).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The error that ended a connection: hyper's, or a failed read of the first bytes.
pub type ConnectionError = Box<dyn Error + Send + Sync>;

type Http1Connection = http1::Connection<TokioIo<ClientStream>, ConnectionService>;
type Http2Connection = http2::Connection<TokioIo<ClientStream>, ConnectionService, TokioExecutor>;

/// hyper's connection builders with their default settings, shared by every connection.
pub struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    /// Builds both; HTTP/2 spawns its tasks on Tokio.
    pub fn new() -> Self {
        Protocols {
            http1: http1::Builder::new(),
            http2: http2::Builder::new(TokioExecutor::new()),
        }
    }
}

/// The state of one connection, from its first bytes to its end.
pub enum Served {
    /// Reading up to 24 bytes to tell HTTP/2's preface from an HTTP/1.1 request, as
    /// hyper-util's `auto::Builder` does.
    Detecting {
        stream: ClientStream,
        service: ConnectionService,
        first_bytes: [u8; HTTP2_PREFACE.len()],
        filled: usize,
    },
    /// hyper serves HTTP/1.1. `closing` is set once hyper was asked to stop keep-alive.
    Http1 {
        connection: Box<Http1Connection>,
        closing: bool,
    },
    /// HTTP/1.1 between two requests, without hyper's state, until bytes arrive.
    Parked {
        stream: ClientStream,
        service: ConnectionService,
    },
    /// hyper serves HTTP/2, which is never parked.
    Http2(Pin<Box<Http2Connection>>),
    /// The connection closed before sending a byte; also in place while the state changes.
    Ended,
}

impl Served {
    /// Starts serving `stream` with `service`.
    pub fn new(stream: ClientStream, service: ConnectionService) -> Self {
        Served::Detecting {
            stream,
            service,
            first_bytes: [0; HTTP2_PREFACE.len()],
            filled: 0,
        }
    }

    /// Drives the connection: detects the protocol, lets hyper serve it, parks an HTTP/1.1
    /// connection when `may_park` is set and `activity` shows it is between requests, and
    /// resumes it when bytes arrive. Resolves when the connection ends, with hyper's error if
    /// one ended it.
    pub fn poll(
        &mut self,
        context: &mut Context<'_>,
        protocols: &Protocols,
        activity: &Activity,
        may_park: bool,
    ) -> Poll<Result<(), ConnectionError>> {
        loop {
            match self {
                Served::Detecting { .. } => {
                    std::task::ready!(self.poll_detect(context, protocols, activity))?;
                }
                Served::Http1 {
                    connection,
                    closing,
                } => {
                    if let Poll::Ready(result) = Pin::new(&mut **connection).poll(context) {
                        return Poll::Ready(result.map_err(Into::into));
                    }
                    if !may_park || *closing || !activity.is_between_requests() {
                        return Poll::Pending;
                    }
                    self.park(context)?;
                }
                Served::Parked { stream, .. } => {
                    std::task::ready!(stream.poll_read_ready(context))?;
                    self.resume(protocols, activity);
                }
                Served::Http2(connection) => {
                    return connection.as_mut().poll(context).map_err(Into::into);
                }
                Served::Ended => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Reads the first bytes until they differ from HTTP/2's preface or complete it, then
    /// hands them and the socket to hyper. Stays `Detecting` while the bytes match an
    /// incomplete preface, and ends the connection when it closes before sending anything.
    fn poll_detect(
        &mut self,
        context: &mut Context<'_>,
        protocols: &Protocols,
        activity: &Activity,
    ) -> Poll<Result<(), ConnectionError>> {
        let Served::Detecting {
            stream,
            first_bytes,
            filled,
            ..
        } = self
        else {
            return Poll::Ready(Ok(()));
        };
        let mut http2 = true;
        while *filled < HTTP2_PREFACE.len() {
            let mut buffer = ReadBuf::new(&mut first_bytes[*filled..]);
            std::task::ready!(Pin::new(&mut *stream).poll_read(context, &mut buffer))?;
            let end = *filled + buffer.filled().len();
            let matches = end > *filled && first_bytes[*filled..end] == HTTP2_PREFACE[*filled..end];
            *filled = end;
            if !matches {
                http2 = false;
                break;
            }
        }

        let Served::Detecting {
            mut stream,
            service,
            first_bytes,
            filled,
        } = std::mem::replace(self, Served::Ended)
        else {
            return Poll::Ready(Ok(()));
        };
        if filled == 0 {
            // Closed before sending anything, as port probes do.
            return Poll::Ready(Ok(()));
        }
        stream.unread(Bytes::copy_from_slice(&first_bytes[..filled]));
        let io = TokioIo::new(stream);
        *self = if http2 {
            activity.set_http2();
            Served::Http2(Box::pin(protocols.http2.serve_connection(io, service)))
        } else {
            Served::http1(protocols, io, service)
        };
        Poll::Ready(Ok(()))
    }

    /// Drops hyper's HTTP/1.1 state if hyper agrees the connection is idle, keeping the socket
    /// and the service to build it again.
    ///
    /// hyper closes an idle connection when asked to shut down, and hands the socket back
    /// without shutting it when polled through `poll_without_shutdown`. Were the connection
    /// not idle after all, hyper finishes the exchange and closes the connection, as at server
    /// shutdown. Returns hyper's error if it fails.
    fn park(&mut self, context: &mut Context<'_>) -> Result<(), ConnectionError> {
        let Served::Http1 {
            connection,
            closing,
        } = self
        else {
            return Ok(());
        };
        *closing = true;
        Pin::new(&mut **connection).graceful_shutdown();
        match connection.poll_without_shutdown(context) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(error)) => return Err(error.into()),
            Poll::Pending => {
                tracing::debug!("client connection was not idle; it closes after this exchange");
                return Ok(());
            }
        }

        let Served::Http1 { connection, .. } = std::mem::replace(self, Served::Ended) else {
            return Ok(());
        };
        let parts = connection.into_parts();
        let mut stream = parts.io.into_inner();
        if !parts.read_buf.is_empty() {
            // Part of a pipelined request, read with the previous one.
            stream.unread(parts.read_buf);
        }
        *self = Served::Parked {
            stream,
            service: parts.service,
        };
        tracing::debug!("parked an idle client connection");
        Ok(())
    }

    /// Builds hyper's HTTP/1.1 state for a parked connection.
    fn resume(&mut self, protocols: &Protocols, activity: &Activity) {
        let Served::Parked { stream, service } = std::mem::replace(self, Served::Ended) else {
            return;
        };
        activity.mark_resumed();
        *self = Served::http1(protocols, TokioIo::new(stream), service);
    }

    fn http1(protocols: &Protocols, io: TokioIo<ClientStream>, service: ConnectionService) -> Self {
        Served::Http1 {
            connection: Box::new(protocols.http1.serve_connection(io, service)),
            closing: false,
        }
    }

    /// Returns whether the connection is parked, without any hyper state.
    #[cfg(test)]
    pub fn is_parked(&self) -> bool {
        matches!(self, Served::Parked { .. })
    }

    /// Asks hyper to finish: HTTP/1.1 stops keep-alive after the response in progress, and
    /// HTTP/2 sends GOAWAY and ends once its streams have.
    pub fn graceful_shutdown(&mut self) {
        match self {
            Served::Http1 {
                connection,
                closing,
            } => {
                *closing = true;
                Pin::new(&mut **connection).graceful_shutdown();
            }
            Served::Http2(connection) => connection.as_mut().graceful_shutdown(),
            Served::Detecting { .. } | Served::Parked { .. } | Served::Ended => {}
        }
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
