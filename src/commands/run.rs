//! `rekaz-proxy run`: serve until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::cli::GlobalOptions;
use crate::env::EnvVars;
use crate::server::descriptors::{connection_capacity, raise_open_file_limit};
use crate::server::{serve, shutdown_signal, App, StartError};

/// Serves the proxy; exits 0 after a clean shutdown, 1 when it cannot start.
pub async fn run(global: &GlobalOptions, env: EnvVars) -> ExitCode {
    let settings = match super::load_settings(global, &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::logging::init(&settings.log);
    raise_open_file_limit();

    let (app, listener, admin) = match start(settings, env).await {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(app.settings.listen);
    let admin_address = admin.as_ref().and_then(|admin| admin.local_addr().ok());

    // Started before the ready line, so a SIGHUP sent once it is printed is handled.
    let _background = app.start_background();
    let admin_server = admin.map(|admin| spawn_admin(&app, admin));
    // Sized before the ready line, so lowering the open-file limit after that line affects
    // only accepting, not how many connections are served.
    let mut limits = app.settings.limits.clone();
    limits.max_connections = connection_capacity(limits.max_connections);
    app.log_start(address, admin_address);
    warn_beyond_loopback(address);

    // Readiness fails from the signal on, so an orchestrator stops sending new requests while
    // the ones in flight finish.
    let state = Arc::clone(&app.state);
    let shutdown = async move {
        shutdown_signal().await;
        state.begin_shutdown();
    };
    serve(listener, app.router(), shutdown, limits).await;
    if let Some(admin_server) = admin_server {
        admin_server.abort();
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Builds the proxy and binds both listeners; the admin one is `None` when turned off.
async fn start(
    settings: crate::config::Settings,
    env: EnvVars,
) -> Result<(App, TcpListener, Option<TcpListener>), StartError> {
    let app = App::build(settings, env).await?;
    let listener = app.bind().await?;
    let admin = app.bind_admin().await?;
    Ok((app, listener, admin))
}

fn spawn_admin(app: &App, admin: TcpListener) -> JoinHandle<()> {
    let router = app.admin_router();
    tokio::spawn(async move {
        if let Err(error) = axum::serve(admin, router).await {
            tracing::error!(%error, "admin listener failed; health probes get no response");
        }
    })
}

fn warn_beyond_loopback(address: SocketAddr) {
    if !address.ip().is_loopback() {
        tracing::warn!(
            listen = %address,
            "listening beyond loopback: anything that can reach this address can call Rekaz \
             with the configured key; restrict who can reach it, or keep listen on 127.0.0.1"
        );
    }
}
