//! Builds the proxy from settings and serves it with graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::config::{ConfigError, Settings};
use crate::credentials::{CredentialError, CredentialStore};
use crate::diagnosis::Diagnostics;
use crate::env::EnvVars;
use crate::proxy::{self, build_client, ClientError, ProxyState};

/// Why the proxy could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A credential could not be read.
    #[error("cannot load Rekaz credentials: {0}")]
    Credentials(#[from] CredentialError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}; pick a free port with `listen`")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
}

/// A proxy built from settings, ready to serve.
pub struct App {
    /// The settings it was built from.
    pub settings: Settings,
    /// The credentials in use; reload them through this handle.
    pub credentials: Arc<CredentialStore>,
    /// The forwarding handler's state.
    pub state: Arc<ProxyState>,
}

impl App {
    /// Reads the credentials and builds the upstream client.
    pub fn build(settings: Settings, env: EnvVars) -> Result<App, StartError> {
        let credentials = Arc::new(CredentialStore::load(settings.credentials.clone(), env)?);
        let client = build_client(&settings.upstream)?;
        let state = Arc::new(ProxyState::new(
            client,
            settings.upstream.clone(),
            Arc::clone(&credentials),
            Arc::new(Diagnostics::new()),
            settings.limits.max_request_body_bytes,
        ));
        Ok(App {
            settings,
            credentials,
            state,
        })
    }

    /// The proxy's router.
    pub fn router(&self) -> Router {
        proxy::router(Arc::clone(&self.state))
    }

    /// Binds the configured listen address.
    pub async fn bind(&self) -> Result<TcpListener, StartError> {
        let address = self.settings.listen;
        TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Bind { address, source })
    }

    /// Logs what the proxy is about to use, once, with no secret.
    pub fn log_start(&self, address: SocketAddr) {
        let credentials = self.credentials.current();
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            listen = %address,
            upstream = %self.settings.upstream.url,
            key = %credentials.key_hint,
            key_source = %credentials.report.api_key,
            secret_source = %credentials.report.api_secret,
            tenant_id = %credentials.tenant_id,
            tenant_source = %credentials.report.tenant_id,
            "rekaz-proxy listening"
        );
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// for at most `grace` before returning.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let server = tokio::spawn(async move { server.await });

    let mut server = server;
    tokio::select! {
        result = &mut server => return flatten(result),
        _ = stopping_rx => {}
    }
    tracing::info!(
        grace_seconds = grace.as_secs_f64(),
        "shutting down; finishing requests in flight"
    );
    match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => flatten(result),
        Err(_) => {
            tracing::warn!(
                grace_seconds = grace.as_secs_f64(),
                "requests still in flight after the grace period; closing them"
            );
            server.abort();
            Ok(())
        }
    }
}

fn flatten(result: Result<io::Result<()>, tokio::task::JoinError>) -> io::Result<()> {
    result.map_err(io::Error::other)?
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!(signal = "SIGINT", "stop requested"),
        _ = terminate => tracing::info!(signal = "SIGTERM", "stop requested"),
    }
}
