//! `rekaz-proxy sandbox`: serve the local fake of the Rekaz API.

use std::net::SocketAddr;
use std::process::ExitCode;

use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::cli::{GlobalOptions, SandboxOptions};
use crate::credentials::{CredentialError, CredentialSpecs};
use crate::env::EnvVars;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::server::shutdown_signal;

/// The sandbox's address when `--listen` is not given: next to the proxy's default port.
const DEFAULT_LISTEN: &str = "127.0.0.1:8081";

/// Serves the sandbox, accepting the credentials the proxy's sources hold.
pub async fn sandbox(global: &GlobalOptions, options: &SandboxOptions, env: EnvVars) -> ExitCode {
    let settings = match super::load_settings(global, &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::logging::init(&settings.log);

    let config = match sandbox_config(&settings.credentials, options, &env).await {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "cannot start the sandbox");
            return ExitCode::FAILURE;
        }
    };
    let address: SocketAddr = match &global.listen {
        Some(_) => settings.listen,
        None => DEFAULT_LISTEN
            .parse()
            .expect("the default address is valid"),
    };
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, %address, "cannot listen; pick a free port with --listen");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(address);
    tracing::info!(listen = %local, url = %format!("http://{local}"), "rekaz sandbox listening");

    match Sandbox::new(config)
        .serve(listener, shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "sandbox failed");
            ExitCode::FAILURE
        }
    }
}

async fn sandbox_config(
    specs: &CredentialSpecs,
    options: &SandboxOptions,
    env: &EnvVars,
) -> Result<SandboxConfig, CredentialError> {
    let api_key: SecretString = specs.api_key.read(env).await?.value;
    let api_secret: SecretString = specs.api_secret.read(env).await?.value;
    let tenant = specs.tenant_id.read(env).await?.value;
    let tenant_id = secrecy::ExposeSecret::expose_secret(&tenant).to_owned();

    let mut config = SandboxConfig::new(api_key, api_secret, tenant_id);
    config.latency = options.latency;
    config.app_requires_token = options.app_requires_token;
    config.token_lifetime = options.token_lifetime;
    if options.password_grant {
        let username = specs.username.read(env).await?.value;
        let password = specs.password.read(env).await?.value;
        let username = secrecy::ExposeSecret::expose_secret(&username).to_owned();
        config.token_user = Some((username, password));
    }
    Ok(config)
}
