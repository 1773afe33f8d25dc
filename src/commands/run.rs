//! `rekaz-proxy run`: serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::GlobalOptions;
use crate::env::EnvVars;
use crate::server::descriptors::raise_open_file_limit;
use crate::server::{serve, shutdown_signal, App};

/// Serves the proxy; exits 0 after a clean shutdown, 1 when it cannot start.
pub async fn run(global: &GlobalOptions, env: EnvVars) -> ExitCode {
    let settings = match super::load_settings(global, &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::logging::init(&settings.log);
    raise_open_file_limit();

    let app = match App::build(settings, env).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let listeners = match (app.bind().await, app.bind_admin().await) {
        (Ok(listener), Ok(admin)) => (listener, admin),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let (listener, admin) = listeners;
    let address = listener.local_addr().unwrap_or(app.settings.listen);
    let admin_address = admin.as_ref().and_then(|admin| admin.local_addr().ok());

    // Started before the ready line, so a SIGHUP sent once it is printed is handled.
    let _background = app.start_background();
    let admin_server = admin.map(|admin| {
        let router = app.admin_router();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(admin, router).await {
                tracing::error!(%error, "admin listener failed; health probes get no response");
            }
        })
    });
    app.log_start(address, admin_address);
    if !address.ip().is_loopback() {
        tracing::warn!(
            listen = %address,
            "listening beyond loopback: anything that can reach this address can call Rekaz \
             with the configured key; restrict who can reach it, or keep listen on 127.0.0.1"
        );
    }

    // Readiness fails from the signal on, so an orchestrator stops sending new requests while
    // the ones in flight finish.
    let state = Arc::clone(&app.state);
    let shutdown = async move {
        shutdown_signal().await;
        state.begin_shutdown();
    };
    let limits = app.settings.limits.clone();
    serve(listener, app.router(), shutdown, limits).await;
    if let Some(admin_server) = admin_server {
        admin_server.abort();
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
