//! Builds the proxy from settings and serves it with graceful shutdown.

mod accept;
mod connection;
pub mod descriptors;
mod wake_floor;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use axum::Router;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use self::accept::{Accepted, Acceptor};
use self::connection::{serve_connection, ClientTimeouts, DrainSwitch, Protocols};

use crate::auth::Authenticator;
use crate::config::{ConfigError, Limits, Settings};
use crate::credentials::rotation::Rotation;
use crate::credentials::token::TokenEndpoint;
use crate::credentials::{AuthMode, CredentialError, CredentialStore};
use crate::diagnosis::{Diagnostics, SwapProbe};
use crate::env::EnvVars;
use crate::proxy::{
    self, ClientError, ExtraRoots, Guard, OwnCallsClient, ProxyState, UpstreamClient,
};

/// A failure that stops the proxy from starting.
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
    /// The admin address could not be bound.
    #[error("cannot listen on {address} for health probes: {source}; pick a free port with `admin.listen`, or set it empty to turn the admin listener off")]
    AdminBind {
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
    /// Source of each request's `Authorization` header, Basic or Bearer, and of readiness.
    pub auth: Arc<Authenticator>,
    /// The forwarding handler's state.
    pub state: Arc<ProxyState>,
}

impl App {
    /// Reads the credentials (running `command:` sources) and builds the upstream client. In
    /// token mode no token is requested yet: [`App::start_background`] does that.
    pub async fn build(settings: Settings, env: EnvVars) -> Result<App, StartError> {
        let roots = ExtraRoots::read(&settings.upstream)?;
        let forwarding = UpstreamClient::build(&settings.upstream, &roots, &env)?;
        let client = OwnCallsClient::new(&settings.upstream, &roots);
        let credentials = Arc::new(CredentialStore::load(settings.credentials.clone(), env).await?);
        let endpoint = TokenEndpoint::new(
            client.clone(),
            &settings.upstream.url,
            settings.auth.client_id.clone(),
            settings.auth.scope.clone(),
            settings.upstream.user_agent.clone(),
            settings.upstream.timeout,
        );
        let auth = Arc::new(Authenticator::new(
            Arc::clone(&credentials),
            endpoint,
            settings.auth.refresh_margin,
        ));
        let diagnostics = Diagnostics::new(settings.log.repeat_window)
            .with_probe(SwapProbe::new(client.clone(), &settings.upstream));
        let state = Arc::new(
            ProxyState::new(
                forwarding,
                settings.upstream.clone(),
                Arc::clone(&auth),
                Arc::new(diagnostics),
                &settings.limits,
            )
            .with_guard(Guard::new(&settings.guard)),
        );
        Ok(App {
            settings,
            credentials,
            auth,
            state,
        })
    }

    /// Starts what keeps the credentials current: the secret file watch, the SIGHUP handler,
    /// the command interval and, in token mode, the token refresher. Dropping the result stops
    /// them.
    pub fn start_background(&self) -> Rotation {
        let mut rotation = Rotation::start(&self.credentials);
        if let Some(tokens) = self.auth.tokens() {
            rotation.add_task(tokens.spawn_refresher());
        }
        rotation
    }

    /// Builds the admin router with `/healthz`, `/readyz` and `/metrics`.
    pub fn admin_router(&self) -> Router {
        crate::admin::router(Arc::clone(&self.auth), Arc::clone(&self.state))
    }

    /// Binds `admin.listen`; `None` when it is empty.
    pub async fn bind_admin(&self) -> Result<Option<TcpListener>, StartError> {
        let Some(address) = self.settings.admin.listen else {
            return Ok(None);
        };
        TcpListener::bind(address)
            .await
            .map(Some)
            .map_err(|source| StartError::AdminBind { address, source })
    }

    /// Returns the proxy's router.
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

    /// Logs what the proxy is about to use, once, with no secret. `admin` is the admin
    /// listener's address, if it runs.
    pub fn log_start(&self, address: SocketAddr, admin: Option<SocketAddr>) {
        let credentials = self.credentials.current();
        let admin = admin.map(|admin| admin.to_string());
        let report = &credentials.report;
        match credentials.mode {
            AuthMode::Basic => tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                listen = %address,
                admin,
                upstream = %self.settings.upstream.url,
                non_dumpable = crate::hardening::is_non_dumpable(),
                auth_mode = "basic",
                key = %credentials.key_hint,
                key_source = %report.api_key,
                secret_source = %report.api_secret,
                tenant_id = %credentials.tenant_id,
                tenant_source = %report.tenant_id,
                "rekaz-proxy listening"
            ),
            AuthMode::Token => tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                listen = %address,
                admin,
                upstream = %self.settings.upstream.url,
                non_dumpable = crate::hardening::is_non_dumpable(),
                auth_mode = "token",
                user = %credentials.key_hint,
                username_source = report.username.as_deref(),
                password_source = report.password.as_deref(),
                tenant_id = %credentials.tenant_id,
                tenant_source = %report.tenant_id,
                "rekaz-proxy listening"
            ),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// for at most `limits.shutdown_grace` before returning.
///
/// Connections are HTTP/1.1 or cleartext HTTP/2. At most `limits.max_connections` are served at
/// once; `run` first lowers it to what the open-file limit allows (see
/// [`descriptors::connection_capacity`]).
/// A connection closes when its request headers take longer than
/// `limits.client_header_timeout` or it idles between requests longer than
/// `limits.client_idle_timeout`. At shutdown, connections without a request in progress close
/// at once.
///
/// Handlers find the client's address as a `ConnectInfo<SocketAddr>` extension, which lets a
/// diagnosis name the client. They must not rely on it, since `check` calls the router
/// directly.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) {
    let capacity = limits.max_connections;
    let timeouts = ClientTimeouts {
        header: limits.client_header_timeout,
        idle: limits.client_idle_timeout,
    };
    let protocols = Arc::new(Protocols::new());
    let (drain, draining) = DrainSwitch::new();
    let mut acceptor = Acceptor::new(listener, capacity);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let _wake_floor = wake_floor::start();

    loop {
        let accepted = tokio::select! {
            accepted = acceptor.accept() => accepted,
            () = &mut shutdown => break,
        };
        let protocols = Arc::clone(&protocols);
        let router = router.clone();
        let draining = draining.clone();
        connections.spawn(async move {
            let Accepted { stream, peer, slot } = accepted;
            serve_connection(&protocols, stream, peer, router, timeouts, draining).await;
            drop(slot);
        });
        // Finished connections leave their entry until collected.
        while connections.try_join_next().is_some() {}
    }

    // Stop accepting, so new clients are refused while the others finish.
    drop(acceptor);
    while connections.try_join_next().is_some() {}
    let grace = limits.shutdown_grace;
    tracing::info!(
        grace_seconds = grace.as_secs_f64(),
        connections = connections.len(),
        "shutting down; finishing requests in flight"
    );
    drain.start();
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_seconds = grace.as_secs_f64(),
            connections = connections.len(),
            "requests still in flight after the grace period; closing their connections"
        );
        connections.shutdown().await;
    }
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
