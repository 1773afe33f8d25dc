//! `rekaz-proxy check`: validate configuration and credentials and print what would be used.

use std::process::ExitCode;

use http::StatusCode;

use crate::cli::{CheckOptions, GlobalOptions};
use crate::config::Settings;
use crate::credentials::ActiveCredentials;
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

    let app = match App::build(settings, env) {
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
    probe(&app).await
}

fn print_settings(settings: &Settings) {
    println!("listen            {}", settings.listen);
    println!("upstream          {}", settings.upstream.url);
    println!("upstream timeout  {:?}", settings.upstream.timeout);
    println!("user agent        {:?}", settings.upstream.user_agent);
}

fn print_credentials(credentials: &ActiveCredentials) {
    let report = &credentials.report;
    println!(
        "api key           {} (from {})",
        credentials.key_hint, report.api_key
    );
    println!("api secret        ******** (from {})", report.api_secret);
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
