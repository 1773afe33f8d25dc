//! Token mode: the password grant, Bearer injection, renewal ahead of expiry and after a 401,
//! a failing token endpoint, and the diagnoses of `invalid_grant` and `unauthorized_client`.
//! The sandbox plays Rekaz where its behaviour suffices, and a recording upstream plays a
//! token endpoint whose responses the test controls.

mod common;
mod rotation_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rotation_support::*;
use serde_json::Value;

/// Access and refresh tokens the scripted endpoint issues, numbered from 1. Letters and digits
/// only, so a leak is found by a plain search.
fn access_token(number: usize) -> String {
    format!("AccessTokenNumber{number}xQ4mZ8")
}

fn refresh_token(number: usize) -> String {
    format!("RefreshTokenNumber{number}pL7vC2")
}

/// A sandbox that runs the password grant for [`USERNAME`] and accepts only tokens on
/// `/api/app`, which expire after `lifetime`.
fn token_sandbox(lifetime: &str) -> SandboxProcess {
    SandboxProcess::start_with(
        ProcessBuilder::sandbox()
            .arg("--password-grant")
            .arg("--app-requires-token")
            .arg("--token-lifetime")
            .arg(lifetime)
            .env("REKAZ_USERNAME", USERNAME)
            .env("REKAZ_PASSWORD", PASSWORD),
    )
}

/// A proxy in token mode for [`USERNAME`] with `password`.
fn token_proxy(upstream: &str, password: &str) -> ProcessBuilder {
    ProxyProcess::builder(upstream)
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_PROXY__AUTH__MODE", "token")
        .env("REKAZ_USERNAME", USERNAME)
        .env("REKAZ_PASSWORD", password)
}

fn create_app_customer(proxy: &ProxyProcess, mobile_number: &str) -> HttpResponse {
    let customer =
        format!(r#"{{"name":"Sara","mobileNumber":"{mobile_number}","customerType":1}}"#);
    curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &customer,
        &format!("{}/api/app/customer", proxy.url()),
    ])
}

fn is_obtained(line: &Value, grant: &str) -> bool {
    log_message(line) == Some("obtained an access token") && line["grant"] == grant
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn form_fields(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A token endpoint and API scripted by the test: the endpoint issues numbered tokens that last
/// `expires_in` seconds, or responds 503 while `down` is set; the API accepts any issued token
/// except those in `rejected`, and counts tokens it received after their expiry.
struct ScriptedRekaz {
    upstream: RecordingUpstream,
    down: Arc<AtomicBool>,
    issued: Arc<AtomicUsize>,
    expired_uses: Arc<AtomicUsize>,
}

impl ScriptedRekaz {
    fn start(expires_in: u64, rejected: &[usize]) -> Self {
        let down = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicUsize::new(0));
        let expired_uses = Arc::new(AtomicUsize::new(0));
        let expiries: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let rejected: Vec<String> = rejected
            .iter()
            .map(|number| access_token(*number))
            .collect();

        let (handler_down, handler_issued, handler_expired) = (
            Arc::clone(&down),
            Arc::clone(&issued),
            Arc::clone(&expired_uses),
        );
        let upstream = RecordingUpstream::start(move |request| {
            if request.target == "/connect/token" {
                if handler_down.load(Ordering::SeqCst) {
                    return Reply::status(503);
                }
                let number = handler_issued.fetch_add(1, Ordering::SeqCst) + 1;
                let lifetime = Duration::from_secs(expires_in);
                expiries
                    .lock()
                    .unwrap()
                    .insert(access_token(number), Instant::now() + lifetime);
                let body = format!(
                    r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{expires_in},"refresh_token":"{}"}}"#,
                    access_token(number),
                    refresh_token(number)
                );
                return Reply::json(200, &body);
            }
            let token = request
                .header("authorization")
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_owned();
            match expiries.lock().unwrap().get(&token) {
                Some(expiry) if Instant::now() >= *expiry => {
                    handler_expired.fetch_add(1, Ordering::SeqCst);
                    Reply::status(401)
                }
                Some(_) if !rejected.contains(&token) => Reply::ok(),
                _ => Reply::status(401).header("WWW-Authenticate", "Bearer"),
            }
        });
        ScriptedRekaz {
            upstream,
            down,
            issued,
            expired_uses,
        }
    }

    fn token_requests(&self) -> Vec<RecordedRequest> {
        self.upstream
            .requests()
            .into_iter()
            .filter(|request| request.target == "/connect/token")
            .collect()
    }

    /// Asserts that no output line of `proxy` contains a token this endpoint issued.
    fn assert_tokens_not_logged(&self, proxy: &ProxyProcess) {
        let issued = self.issued.load(Ordering::SeqCst);
        let tokens: Vec<String> = (1..=issued)
            .flat_map(|number| [access_token(number), refresh_token(number)])
            .collect();
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        assert_logs_free_of(proxy, &tokens);
        assert!(!proxy.logs_contain("Bearer "), "a Bearer header was logged");
    }
}

#[test]
fn token_mode_creates_app_customer() {
    let sandbox = token_sandbox("3600s");
    let proxy = token_proxy(&sandbox.url(), PASSWORD).start();

    let response = create_app_customer(&proxy, "0503334444");

    assert_eq!(response.status, 200, "{}", response.text());
    assert_logs_free_of(&proxy, &[]);
}

#[test]
fn password_grant_sends_documented_form() {
    let rekaz = ScriptedRekaz::start(3600, &[]);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD)
        .env("REKAZ_PROXY__AUTH__CLIENT_ID", "Platform_App")
        .start();

    curl(&[&format!("{}/api/app/customer", proxy.url())]);

    let token_request = &rekaz.token_requests()[0];
    let form = form_fields(&token_request.body);
    assert_eq!(token_request.method, "POST");
    assert_eq!(token_request.header("__tenant"), Some(TENANT_ID));
    assert_eq!(
        token_request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], USERNAME);
    assert_eq!(form["password"], PASSWORD);
    assert_eq!(form["scope"], "Platform offline_access");
    assert_eq!(form["client_id"], "Platform_App");
    rekaz.assert_tokens_not_logged(&proxy);
}

#[test]
fn api_request_carries_bearer_token() {
    let rekaz = ScriptedRekaz::start(3600, &[]);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD).start();

    let response = curl(&[&format!("{}/api/app/customer", proxy.url())]);

    assert_eq!(response.status, 200);
    let api_request = rekaz
        .upstream
        .requests()
        .into_iter()
        .find(|request| request.target == "/api/app/customer")
        .expect("the API request reached the upstream");
    let expected = format!("Bearer {}", access_token(1));
    assert_eq!(api_request.header("authorization"), Some(expected.as_str()));
    assert_eq!(api_request.header("__tenant"), Some(TENANT_ID));
    rekaz.assert_tokens_not_logged(&proxy);
}

#[test]
fn token_refreshed_ahead_of_expiry() {
    let sandbox = token_sandbox("3s");
    let proxy = token_proxy(&sandbox.url(), PASSWORD)
        .env("REKAZ_PROXY__AUTH__REFRESH_MARGIN", "1s")
        .start();

    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);
    proxy.wait_for_log(|line| is_obtained(line, "refresh_token"), PROCESS_TIMEOUT);

    assert_eq!(create_app_customer(&proxy, "0505556666").status, 200);
    assert_logs_free_of(&proxy, &[]);
}

#[test]
fn rejected_token_is_renewed_and_replayed() {
    let rekaz = ScriptedRekaz::start(3600, &[1]);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD).start();
    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);

    let response = curl(&[&format!("{}/api/app/customer", proxy.url())]);

    assert_eq!(response.status, 200);
    let access = proxy.wait_for_message("exchange", SHORT);
    assert_eq!(access["replayed"], true);
    let grants: Vec<String> = rekaz
        .token_requests()
        .iter()
        .map(|request| form_fields(&request.body)["grant_type"].clone())
        .collect();
    assert_eq!(grants, ["password", "refresh_token"]);
    rekaz.assert_tokens_not_logged(&proxy);
}

#[test]
fn endpoint_outage_never_sends_expired_token() {
    let rekaz = ScriptedRekaz::start(4, &[]);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD).start();
    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);

    rekaz.down.store(true, Ordering::SeqCst);
    proxy.wait_for_message(
        "cannot renew the access token; the current one stays in use until it expires",
        PROCESS_TIMEOUT,
    );
    curl(&[&format!("{}/api/app/customer", proxy.url())]);
    proxy.wait_for_message(
        "cannot obtain an access token; requests get 503 until one is obtained",
        PROCESS_TIMEOUT,
    );
    let during_outage = curl(&[&format!("{}/api/app/customer", proxy.url())]);
    assert_proxy_error(&during_outage, 503, "credentials_unavailable");

    rekaz.down.store(false, Ordering::SeqCst);
    proxy.wait_for_logs(
        |line| log_message(line) == Some("obtained an access token"),
        2,
        PROCESS_TIMEOUT,
    );
    let recovered = curl(&[&format!("{}/api/app/customer", proxy.url())]);
    assert_eq!(recovered.status, 200);
    assert_eq!(rekaz.expired_uses.load(Ordering::SeqCst), 0);
    rekaz.assert_tokens_not_logged(&proxy);
}

#[test]
fn readiness_waits_for_first_token() {
    let rekaz = ScriptedRekaz::start(3600, &[]);
    rekaz.down.store(true, Ordering::SeqCst);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD).start();
    proxy.wait_for_message(
        "cannot obtain an access token; requests get 503 until one is obtained",
        PROCESS_TIMEOUT,
    );

    let ready = readiness(&proxy);

    assert_eq!(ready.status, 503);
    let reason = readiness_reason(&ready);
    assert!(reason.contains("answered 503"), "{reason}");
}

#[test]
fn wrong_password_is_diagnosed() {
    let sandbox = token_sandbox("3600s");
    let proxy = token_proxy(&sandbox.url(), WRONG_SECRET).start();

    let error = proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);
    let ready = readiness(&proxy);
    let response = create_app_customer(&proxy, "0507778888");

    assert_eq!(error["cause"], "invalid_grant");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(message.contains("credentials.password"), "{message}");
    assert!(
        message.contains("Invalid username or password!"),
        "{message}"
    );
    assert_eq!(ready.status, 503);
    assert_proxy_error(&response, 503, "credentials_unavailable");
}

#[test]
fn unknown_client_is_diagnosed() {
    let sandbox = token_sandbox("3600s");
    let proxy = token_proxy(&sandbox.url(), PASSWORD)
        .env("REKAZ_PROXY__AUTH__CLIENT_ID", "Reporting_Service")
        .start();

    let error = proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);

    assert_eq!(error["cause"], "unauthorized_client");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(message.contains("auth.client_id"), "{message}");
}

#[test]
fn rotated_password_file_logs_in_again() {
    let sandbox = token_sandbox("3600s");
    let secrets = SecretDir::new();
    let password_file = secrets.write("password", WRONG_SECRET);
    let proxy = token_proxy(&sandbox.url(), "")
        .remove_env("REKAZ_PASSWORD")
        .env("REKAZ_PASSWORD_FILE", password_file.to_string_lossy())
        .start();
    proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);

    secrets.write("password", PASSWORD);
    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);

    assert_eq!(create_app_customer(&proxy, "0509990000").status, 200);
    assert_eq!(readiness(&proxy).status, 200);
}

#[test]
fn check_obtains_token() {
    let sandbox = token_sandbox("3600s");
    let mut check = ProcessBuilder::command(&["check", "--upstream", &sandbox.url()])
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_PROXY__AUTH__MODE", "token")
        .env("REKAZ_USERNAME", USERNAME)
        .env("REKAZ_PASSWORD", PASSWORD)
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);
    let output = check.logs().join("\n");

    assert_eq!(status.code(), Some(0), "{output}");
    assert!(
        output.contains("OK    Rekaz issued an access token"),
        "{output}"
    );
    assert!(
        output.contains("password          ******** (from env:REKAZ_PASSWORD)"),
        "{output}"
    );
    assert_logs_free_of(&check, &[]);
}

#[test]
fn persistent_rejection_renews_token_once() {
    let rekaz = ScriptedRekaz::start(3600, &[1, 2, 3]);
    let proxy = token_proxy(&rekaz.upstream.url(), PASSWORD).start();
    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);

    let first = curl(&[&format!("{}/api/app/customer", proxy.url())]);
    let second = curl(&[&format!("{}/api/app/customer", proxy.url())]);

    assert_eq!(first.status, 401);
    assert_eq!(second.status, 401);
    assert_eq!(rekaz.token_requests().len(), 2, "one login and one renewal");
    rekaz.assert_tokens_not_logged(&proxy);
}

/// A password whose raw, form-encoded and percent-encoded forms all differ.
const ECHOED_PASSWORD: &str = "Echo Pass/w+rd&7Kq%z";

/// Returns every form of [`ECHOED_PASSWORD`] that a leak could take.
fn echoed_password_forms() -> Vec<String> {
    let form_encoded: String =
        url::form_urlencoded::byte_serialize(ECHOED_PASSWORD.as_bytes()).collect();
    let percent_encoded =
        percent_encoding::utf8_percent_encode(ECHOED_PASSWORD, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    vec![ECHOED_PASSWORD.to_owned(), form_encoded, percent_encoded]
}

/// Starts a token endpoint that rejects every login with an `error_description` that repeats
/// the form body it received and the password.
fn echoing_token_endpoint() -> RecordingUpstream {
    RecordingUpstream::start(|request| {
        let description = format!(
            "cannot log in with {} (password {ECHOED_PASSWORD})",
            String::from_utf8_lossy(&request.body)
        );
        let body = serde_json::json!({
            "error": "invalid_grant",
            "error_description": description,
        });
        Reply::json(400, &body.to_string())
    })
}

fn assert_no_password_form(context: &str, text: &str) {
    for (index, form) in echoed_password_forms().iter().enumerate() {
        assert!(
            !text.contains(form.as_str()),
            "{context} shows password form {index}"
        );
    }
}

#[test]
fn echoed_password_is_redacted_in_logs() {
    let endpoint = echoing_token_endpoint();
    let proxy = token_proxy(&endpoint.url(), ECHOED_PASSWORD).start();

    let error = proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);
    let ready = readiness(&proxy);
    let response = create_app_customer(&proxy, "0507778888");

    let message = error["error"].as_str().unwrap_or_default();
    assert!(message.contains("[redacted]"), "{message}");
    assert!(message.contains("grant_type=password"), "{message}");
    for line in proxy.logs() {
        assert_no_password_form("a log line", &line);
    }
    assert_no_password_form("/readyz", &ready.text());
    assert_no_password_form("the 503 body", &response.text());
}

#[test]
fn echoed_password_is_redacted_in_check() {
    let endpoint = echoing_token_endpoint();
    let mut check = ProcessBuilder::command(&["check", "--upstream", &endpoint.url()])
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_PROXY__AUTH__MODE", "token")
        .env("REKAZ_USERNAME", USERNAME)
        .env("REKAZ_PASSWORD", ECHOED_PASSWORD)
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);
    let output = check.logs().join("\n");

    assert_eq!(status.code(), Some(1));
    assert!(
        output.contains("FAIL  Rekaz rejected the username or password"),
        "{output}"
    );
    assert!(output.contains("[redacted]"), "{output}");
    assert_no_password_form("check output", &output);
}

#[test]
fn echoed_access_token_is_redacted() {
    let upstream = RecordingUpstream::start(|request| {
        if request.target == "/connect/token" {
            let body = format!(
                r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600,"refresh_token":"{}"}}"#,
                access_token(1),
                refresh_token(1)
            );
            return Reply::json(200, &body);
        }
        let authorization = request.header("authorization").unwrap_or_default();
        let body = serde_json::json!({
            "error": { "message": format!("Header {authorization} is not accepted here") }
        });
        Reply::json(400, &body.to_string())
    });
    let proxy = token_proxy(&upstream.url(), PASSWORD).start();
    proxy.wait_for_log(|line| is_obtained(line, "password"), PROCESS_TIMEOUT);

    let response = curl(&[&format!("{}/api/app/customer", proxy.url())]);

    assert_eq!(response.status, 400);
    let line = proxy.wait_for_log(|line| line["cause"] == "request_rejected", PROCESS_TIMEOUT);
    let detail = line["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Header Bearer [redacted] is not"),
        "{detail}"
    );
    assert!(
        !detail.contains(&access_token(1)),
        "the access token was logged"
    );
}
