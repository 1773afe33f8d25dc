//! The client's request body: small ones are held so they can be inspected and replayed, large
//! ones stream straight through.

use std::fmt;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::Body as _;
use http_body_util::combinators::MapErr;
use http_body_util::{BodyExt, Either, Full, Limited};

use super::body_end::{signal_end, BodySent, EndSignal};
use super::body_timeout::{BodySender, IdleTimeout};
use super::error::ProxyError;
use super::upstream_error::find_source;

/// Bodies up to this size are read whole before forwarding.
pub const HELD_BODY_MAX_BYTES: u64 = 64 * 1024;

/// A request body ready to forward.
#[derive(Debug)]
pub enum RequestBody {
    /// No body at all.
    Empty,
    /// A small body read whole; can be replayed and inspected.
    Held(Bytes),
    /// A large or open-ended body streamed as it arrives.
    Streaming(Body),
}

impl RequestBody {
    /// Reads a small body whole, or leaves a large one streaming.
    ///
    /// A body that declares more than `limit` bytes is rejected before any of it is read. One
    /// without a declared length is cut off at `limit`, which surfaces as
    /// [`ProxyError::BodyTooLarge`] while it is read or sent. A client that pauses longer than
    /// `max_pause` within its body gets [`ProxyError::ClientBody`].
    pub async fn read(body: Body, limit: usize, max_pause: Duration) -> Result<Self, ProxyError> {
        if body.size_hint().lower() > limit as u64 {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        let limited = Limited::new(body, limit);
        let body = Body::new(IdleTimeout::new(limited, max_pause, BodySender::Client));
        match body.size_hint().exact() {
            Some(0) if body.is_end_stream() => Ok(RequestBody::Empty),
            Some(length) if length <= HELD_BODY_MAX_BYTES => {
                let bytes = body
                    .collect()
                    .await
                    .map_err(|error| body_error(&error, limit))?
                    .to_bytes();
                Ok(RequestBody::Held(bytes))
            }
            _ => Ok(RequestBody::Streaming(body)),
        }
    }

    /// Returns the held bytes, if the body was small enough to hold.
    pub fn held(&self) -> Option<&Bytes> {
        match self {
            RequestBody::Held(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Returns whether the body streams and so cannot be replayed.
    pub fn is_streaming(&self) -> bool {
        matches!(self, RequestBody::Streaming(_))
    }

    /// Converts into the forwarding client's body type, with the signal that fires once the
    /// body has been sent.
    pub fn into_upstream(self) -> (UpstreamBody, BodySent) {
        match self {
            RequestBody::Empty => (
                UpstreamBody::Left(Full::new(Bytes::new())),
                BodySent::already(),
            ),
            RequestBody::Held(bytes) => (UpstreamBody::Left(Full::new(bytes)), BodySent::already()),
            // The Content-Length header, when sent, is kept, and hyper frames the body by it.
            // Errors are marked as the client's, so a failed send is not blamed on Rekaz.
            RequestBody::Streaming(body) => {
                let mark: fn(axum::Error) -> ClientBodyError = ClientBodyError;
                let (body, sent) = signal_end(body.map_err(mark));
                (UpstreamBody::Right(body), sent)
            }
        }
    }
}

/// A request body as the forwarding client sends it: whole bytes (none for an empty body), or
/// the client's stream with its errors marked as the client's and its end signalled.
pub type UpstreamBody =
    Either<Full<Bytes>, EndSignal<MapErr<Body, fn(axum::Error) -> ClientBodyError>>>;

/// A failure reading a streamed request body from the client, as it travels inside the
/// upstream client's error.
#[derive(Debug)]
pub struct ClientBodyError(axum::Error);

impl fmt::Display for ClientBodyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("reading the request body from the client failed")
    }
}

impl std::error::Error for ClientBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Maps a failed send whose cause is the client's streamed body: over the limit, stalled, or
/// cut off. `None` when the client's body played no part.
pub(crate) fn client_body_failure(
    error: &(dyn std::error::Error + 'static),
    limit: usize,
) -> Option<ProxyError> {
    let ClientBodyError(cause) = find_source::<ClientBodyError>(error)?;
    Some(body_error(cause, limit))
}

/// Maps a failure reading the client's body: over the limit, stalled, or the client went away.
pub(crate) fn body_error(error: &(dyn std::error::Error + 'static), limit: usize) -> ProxyError {
    if is_length_limit(error) {
        return ProxyError::BodyTooLarge { limit };
    }
    ProxyError::ClientBody(super::upstream_error::error_chain(error))
}

/// Walks the error's sources looking for the body-limit layer's error.
pub(crate) fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    find_source::<http_body_util::LengthLimitError>(error).is_some()
}
