//! `rekaz-proxy check`: validate configuration and credentials and print what would be used.

use std::process::ExitCode;

use http::StatusCode;

use crate::cli::{CheckOptions, GlobalOptions};
use crate::config::Settings;
use crate::credentials::{ActiveCredentials, AuthMode};
use crate::env::EnvVars;
use crate::server::App;

/// Path asked of Rekaz to test the credentials: a cheap read every API key may make.
const PROBE_PATH: &str = "/api/public/branches";

/// Prints the effective settings with secrets masked; exits 0 when usable, 1 otherwise.
pub async fn check(global: &GlobalOptions, options: &CheckOptions, env: EnvVars) -> ExitCode {
    let settings = match super::load_settings(global, &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    crate::logging::init(&settings.log);
    print_settings(&settings);

    let app = match App::build(settings, env).await {
        Ok(app) => app,
        Err(error) => {
            println!("FAIL  {error}");
            return ExitCode::FAILURE;
        }
    };
    let credentials = app.credentials.current();
    print_credentials(&credentials);

    if options.offline {
        println!("OK    configuration and credentials are valid (Rekaz not asked: --offline)");
        return ExitCode::SUCCESS;
    }
    match credentials.mode {
        AuthMode::Basic => probe(&app).await,
        AuthMode::Token => probe_token(&app).await,
    }
}

fn print_settings(settings: &Settings) {
    println!("listen            {}", settings.listen);
    println!("upstream          {}", settings.upstream.url);
    println!("upstream timeout  {:?}", settings.upstream.timeout);
    println!("user agent        {:?}", settings.upstream.user_agent);
}

fn print_credentials(credentials: &ActiveCredentials) {
    let report = &credentials.report;
    match credentials.mode {
        AuthMode::Basic => {
            println!("auth mode         basic");
            println!(
                "api key           {} (from {})",
                credentials.key_hint, report.api_key
            );
            println!("api secret        ******** (from {})", report.api_secret);
        }
        AuthMode::Token => {
            let source = |source: &Option<String>| source.clone().unwrap_or_default();
            println!("auth mode         token");
            println!(
                "username          {} (from {})",
                credentials.key_hint,
                source(&report.username)
            );
            println!(
                "password          ******** (from {})",
                source(&report.password)
            );
        }
    }
    println!(
        "tenant id         {} (from {})",
        credentials.tenant_id, report.tenant_id
    );
    for value in &report.line_endings_removed {
        println!("note              trailing CR/LF removed from the {value}");
    }
    for value in &report.surrounding_whitespace {
        println!("warning           the {value} begins or ends with a space or tab");
    }
}

/// Asks the token endpoint for a token, which proves the username, password and tenant id.
async fn probe_token(app: &App) -> ExitCode {
    let Some(tokens) = app.auth.tokens() else {
        println!("FAIL  token mode is configured but no token manager runs");
        return ExitCode::FAILURE;
    };
    match tokens.token().await {
        Ok(token) => {
            let lifetime = token
                .expires_at()
                .saturating_duration_since(std::time::Instant::now());
            println!(
                "OK    Rekaz issued an access token ({}, valid for {} s)",
                tokens.endpoint().url(),
                lifetime.as_secs()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("FAIL  {error}");
            ExitCode::FAILURE
        }
    }
}

async fn probe(app: &App) -> ExitCode {
    let router = app.router();
    let request = http::Request::get(PROBE_PATH)
        .header(http::header::ACCEPT, "application/json")
        .body(axum::body::Body::empty())
        .expect("a constant request is valid");
    let response = match tower::ServiceExt::oneshot(router, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    // Reading the body to its end lets the exchange and its diagnosis be logged.
    let _ = http_body_util::BodyExt::collect(response.into_body()).await;
    match status {
        status if status.is_success() => {
            println!("OK    Rekaz accepted the credentials (GET {PROBE_PATH}: {status})");
            ExitCode::SUCCESS
        }
        StatusCode::UNAUTHORIZED => {
            println!("FAIL  Rekaz rejected the credentials (GET {PROBE_PATH}: 401); check the key, the secret and the tenant id, or regenerate the key");
            ExitCode::FAILURE
        }
        status => {
            println!(
                "FAIL  GET {PROBE_PATH} answered {status}; see the log line above for the cause"
            );
            ExitCode::FAILURE
        }
    }
}
