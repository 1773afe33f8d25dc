//! `rekaz-proxy run`: serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use crate::cli::GlobalOptions;
use crate::env::EnvVars;
use crate::server::{serve, shutdown_signal, App};

/// Serves the proxy; exits 0 after a clean shutdown, 1 when it cannot start.
pub async fn run(global: &GlobalOptions, env: EnvVars) -> ExitCode {
    let settings = match super::load_settings(global, &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::logging::init(&settings.log);

    let app = match App::build(settings, env) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let listener = match app.bind().await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(app.settings.listen);
    app.log_start(address);

    let grace = app.settings.limits.shutdown_grace;
    match serve(listener, app.router(), shutdown_signal(), grace).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
