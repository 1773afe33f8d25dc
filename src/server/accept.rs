//! Accepting client connections: at most `limits.max_connections` at once, with backoff when
//! `accept` fails, such as when the process runs out of file descriptors.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// First wait after a failed `accept`; it doubles up to [`MAX_ACCEPT_BACKOFF`].
const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Maximum wait between two `accept` attempts that keep failing.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Shortest time between two warnings that the connection limit was reached.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// An accepted connection and the slot it takes until it closes.
pub struct Accepted {
    /// The client's socket, with `TCP_NODELAY` set.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Frees the slot when dropped.
    pub slot: OwnedSemaphorePermit,
}

/// Accepts connections while fewer than the limit are open. At the limit it stops accepting,
/// so new clients wait in the kernel's listen queue until a connection closes.
pub struct Acceptor {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    limit_warned_at: Option<Instant>,
    limit_hits: u64,
    /// Failed `accept` calls in a row, and the pause before the next attempt.
    failures: u64,
    backoff: Duration,
}

impl Acceptor {
    /// Accepts from `listener`, at most `max_connections` at once.
    pub fn new(listener: TcpListener, max_connections: usize) -> Self {
        Acceptor {
            listener,
            slots: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            limit_warned_at: None,
            limit_hits: 0,
            failures: 0,
            backoff: FIRST_ACCEPT_BACKOFF,
        }
    }

    /// Waits for a free slot, then for a connection. Cancel-safe: dropping the future loses no
    /// accepted connection.
    pub async fn accept(&mut self) -> Accepted {
        let slot = self.free_slot().await;
        let (stream, peer) = self.accept_with_backoff().await;
        // Responses are written whole or in chunks the proxy wants sent at once.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot set TCP_NODELAY on a client connection");
        }
        Accepted { stream, peer, slot }
    }

    async fn free_slot(&mut self) -> OwnedSemaphorePermit {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return slot;
        }
        self.limit_hits += 1;
        let quiet = self
            .limit_warned_at
            .is_some_and(|warned| warned.elapsed() < LIMIT_WARNING_INTERVAL);
        if !quiet {
            tracing::warn!(
                max_connections = self.max_connections,
                times_reached = self.limit_hits,
                "client connections reached limits.max_connections; new connections wait until \
                 one closes. Raise the limit if clients need more, or look for clients that \
                 hold connections open"
            );
            self.limit_warned_at = Some(Instant::now());
            self.limit_hits = 0;
        }
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the connection slots are never closed")
    }

    /// Accepts one connection, retrying failures: at once for errors of a single connection,
    /// and after a growing pause for errors of the listener or the process, such as "Too many
    /// open files". Logs one warning when failures start and one line when accepting works
    /// again.
    async fn accept_with_backoff(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    if self.failures > 0 {
                        tracing::info!(
                            failures = self.failures,
                            "accepting client connections works again"
                        );
                        self.failures = 0;
                        self.backoff = FIRST_ACCEPT_BACKOFF;
                    }
                    return accepted;
                }
                Err(error) if is_connection_error(&error) => {
                    tracing::debug!(%error, "a client connection failed before it was accepted");
                }
                Err(error) => {
                    if self.failures == 0 {
                        tracing::warn!(
                            %error,
                            "accepting a client connection failed; retrying with a pause of up \
                             to 1 s until it works. \"Too many open files\" means the open-file \
                             limit (ulimit -n) is too low for the connections clients hold open"
                        );
                    }
                    self.failures += 1;
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
            }
        }
    }
}

/// Returns whether `error` concerns one connection only, so the next `accept` can follow at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
