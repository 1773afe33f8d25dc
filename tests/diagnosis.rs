//! The diagnosis line for each failure in the catalogue, through a real proxy process in
//! front of the sandbox (or a recording upstream for statuses the sandbox never sends).
//!
//! Every proxy process is scanned for secrets when dropped, and the tests here also check that
//! no submitted value reaches a log line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rekaz_proxy::diagnosis::{Cause, Diagnostics, ExchangeFacts};
use rekaz_proxy::proxy::StrippedClientCredentials;
use serde_json::Value;

use common::{
    curl, curl_output, log_field, log_message, log_target, Gate, InProcessSandbox, ProcessBuilder,
    ProxyProcess, RecordingUpstream, Reply, SandboxProcess, API_KEY, API_SECRET, PROCESS_TIMEOUT,
    TENANT_ID, WRONG_SECRET,
};

const DIAGNOSIS_TARGET: &str = "rekaz_proxy::diagnosis";

/// A tenant id that the sandbox does not know.
const UNKNOWN_TENANT: &str = "9b2e6c1a-4f0d-4c2d-9e3f-0a1b2c3d4e5f";

/// Values a client submits that Rekaz echoes in its messages. None may reach a log line.
const SUBMITTED_VALUES: [&str; 6] = [
    "0559876543",
    "Zubaidah Testname",
    "BADPRICE-9931",
    "not-a-guid-4471",
    "corporate-xyz",
    "next tuesday",
];

fn is_diagnosis(line: &Value, cause: &str) -> bool {
    log_target(line) == Some(DIAGNOSIS_TARGET) && text_field(line, "cause") == cause
}

fn wait_diagnosis(proxy: &ProxyProcess, cause: &str) -> Value {
    proxy.wait_for_log(|line| is_diagnosis(line, cause), PROCESS_TIMEOUT)
}

fn text_field<'a>(line: &'a Value, name: &str) -> &'a str {
    log_field(line, name)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn number_field(line: &Value, name: &str) -> Option<u64> {
    log_field(line, name).and_then(Value::as_u64)
}

fn level(line: &Value) -> &str {
    line.get("level")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn get(proxy: &ProxyProcess, path: &str) -> u16 {
    curl(&[&format!("{}{path}", proxy.url())]).status
}

fn post_json(proxy: &ProxyProcess, path: &str, body: &str) -> u16 {
    post(proxy, path, "application/json", body)
}

fn post(proxy: &ProxyProcess, path: &str, content_type: &str, body: &str) -> u16 {
    let url = format!("{}{path}", proxy.url());
    let content_type = format!("Content-Type: {content_type}");
    let args = [
        "-X",
        "POST",
        "-H",
        &content_type,
        "--data-binary",
        body,
        &url,
    ];
    curl(&args).status
}

fn secret_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("creating a secret file");
    file.write_all(contents.as_bytes())
        .expect("writing the secret file");
    file
}

fn assert_no_submitted_value(proxy: &ProxyProcess) {
    for line in proxy.logs() {
        for value in SUBMITTED_VALUES {
            assert!(!line.contains(value), "log line shows {value:?}: {line}");
        }
    }
}

#[test]
fn wrong_secret_is_credentials_rejected() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();

    assert_eq!(get(&proxy, "/api/public/customers"), 401);
    let line = wait_diagnosis(&proxy, "credentials_rejected");
    assert_eq!(number_field(&line, "status"), Some(401));
    assert_eq!(level(&line), "ERROR");
    assert_eq!(text_field(&line, "path"), "/api/public/customers");
    assert!(text_field(&line, "hint").contains("env:REKAZ_API_SECRET"));
    assert!(!text_field(&line, "correlation_id").is_empty());
    assert_eq!(text_field(&line, "key"), "rkz_…");
}

#[test]
fn wrong_secret_probe_rules_out_swap() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();

    assert_eq!(get(&proxy, "/api/public/customers"), 401);
    let line = wait_diagnosis(&proxy, "credentials_rejected");
    assert_eq!(text_field(&line, "probe"), "key_and_secret_swapped");
    let outcome = "the probe with key and secret swapped was rejected too, so they are not swapped";
    proxy.wait_for_message(outcome, PROCESS_TIMEOUT);
}

#[test]
fn regenerated_key_is_credentials_revoked() {
    let sandbox = InProcessSandbox::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    assert_eq!(get(&proxy, "/api/public/branches"), 200);

    sandbox
        .sandbox()
        .regenerate_key("rkz_regenerated_key_1".into(), "RegeneratedSecret77".into());
    assert_eq!(get(&proxy, "/api/public/branches"), 401);

    let line = wait_diagnosis(&proxy, "credentials_revoked");
    assert!(text_field(&line, "hint").contains("regenerated"));
    assert!(!proxy.logs_contain("RegeneratedSecret77"));
}

#[test]
fn swapped_key_and_secret_are_detected() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_API_KEY", API_SECRET)
        .env("REKAZ_API_SECRET", API_KEY)
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "key_and_secret_swapped");
    assert_eq!(level(&line), "ERROR");
    assert!(text_field(&line, "hint").contains("env:REKAZ_API_KEY"));
    assert_eq!(text_field(&line, "key"), "****");
}

#[test]
fn trailing_space_in_secret_file_is_named() {
    let sandbox = SandboxProcess::start();
    let file = secret_file(&format!("{API_SECRET} \n"));
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", file.path().to_string_lossy())
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "credential_whitespace");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("API secret"));
    assert!(text_field(&line, "secret_source").starts_with("file:"));
}

#[test]
fn removed_line_break_is_mentioned_on_401() {
    let sandbox = SandboxProcess::start();
    let file = secret_file(&format!("{WRONG_SECRET}\r\n"));
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", file.path().to_string_lossy())
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "credentials_rejected");
    assert!(text_field(&line, "detail").contains("trailing line break from the API secret"));
}

#[test]
fn unknown_tenant_is_tenant_not_found() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_TENANT_ID", UNKNOWN_TENANT)
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "tenant_not_found");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains(UNKNOWN_TENANT));
    assert!(text_field(&line, "detail").contains("Tenant not found!"));
    assert!(text_field(&line, "hint").contains("env:REKAZ_TENANT_ID"));
}

#[test]
fn client_authorization_is_reported_once_per_client() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let url = format!("{}/api/public/branches", proxy.url());
    let bearer = "Authorization: Bearer client-token-5521";

    for agent in ["diagnosis-test/1", "diagnosis-test/1", "diagnosis-test/2"] {
        let response = curl(&["-H", bearer, "-A", agent, &url]);
        assert_eq!(response.status, 200);
    }

    let lines = proxy.wait_for_logs(
        |line| is_diagnosis(line, "client_credentials_stripped"),
        2,
        PROCESS_TIMEOUT,
    );
    assert_eq!(lines.len(), 2, "one line per client: {lines:?}");
    assert!(log_message(&lines[0])
        .unwrap_or_default()
        .contains("diagnosis-test/1"));
    assert!(log_message(&lines[1])
        .unwrap_or_default()
        .contains("diagnosis-test/2"));
    assert_eq!(level(&lines[0]), "WARN");
    assert!(!proxy.logs_contain("client-token-5521"));
}

#[test]
fn app_endpoint_wanting_token_is_explained() {
    let sandbox = SandboxProcess::start_with(ProcessBuilder::sandbox().arg("--app-requires-token"));
    let proxy = ProxyProcess::start(&sandbox.url());

    let status = post_json(
        &proxy,
        "/api/app/customer",
        r#"{"name":"A","mobileNumber":"1"}"#,
    );
    assert_eq!(status, 401);
    let line = wait_diagnosis(&proxy, "bearer_token_required");
    assert!(text_field(&line, "hint").contains("/api/public/customers"));
}

#[test]
fn python_user_agent_is_blocked_by_cdn() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_PROXY__UPSTREAM__USER_AGENT", "Python-urllib/3.12")
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 403);
    let line = wait_diagnosis(&proxy, "user_agent_blocked");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("Python-urllib/3.12"));
    assert!(text_field(&line, "hint").contains("upstream.user_agent"));
}

#[test]
fn problem_details_fields_are_listed_masked() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let body = r#"{"customerId":"not-a-guid-4471","startAt":"next tuesday","discount":0,
        "branchId":"3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "items":[{"priceId":"BADPRICE-9931","quantity":1}]}"#;

    assert_eq!(post_json(&proxy, "/api/public/subscriptions", body), 400);
    let line = wait_diagnosis(&proxy, "validation_failed");
    let message = log_message(&line).unwrap_or_default();
    for field in ["CustomerId", "Items[0].PriceId", "StartAt"] {
        assert!(message.contains(field), "{field} missing from {message}");
    }
    let detail = text_field(&line, "detail");
    assert!(
        detail.contains("The value '***' is not valid for PriceId."),
        "{detail}"
    );
    assert!(text_field(&line, "hint").contains("ISO 8601"));
    assert!(!text_field(&line, "trace_id").is_empty());
    assert_no_submitted_value(&proxy);
}

#[test]
fn abp_validation_errors_are_listed_masked() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let body = r#"{"name":"Zubaidah Testname","mobileNumber":"0559876543",
        "customerType":"corporate-xyz"}"#;

    assert_eq!(post_json(&proxy, "/api/app/customer", body), 400);
    let line = wait_diagnosis(&proxy, "validation_failed");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("customerType"));
    assert!(text_field(&line, "detail").contains("ABP validationErrors"));
    assert!(text_field(&line, "detail").contains("'***'"));
    assert_no_submitted_value(&proxy);
}

#[test]
fn duplicate_mobile_is_business_rule() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let body = r#"{"name":"Zubaidah Testname","mobileNumber":"0559876543","customerType":1}"#;

    assert_eq!(post_json(&proxy, "/api/app/customer", body), 200);
    assert_eq!(post_json(&proxy, "/api/app/customer", body), 403);
    let line = wait_diagnosis(&proxy, "business_rule");
    assert_eq!(level(&line), "WARN");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("Mobile number already exists"));
    assert!(text_field(&line, "hint").contains("not an authentication problem"));
    assert_no_submitted_value(&proxy);
}

#[test]
fn malformed_json_write_is_explained() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    let status = post_json(
        &proxy,
        "/api/app/customer",
        r#"{"name": "Zubaidah Testname","#,
    );
    assert_eq!(status, 500);
    let line = wait_diagnosis(&proxy, "malformed_json_body");
    assert!(text_field(&line, "detail").contains("line 1"));
    assert!(text_field(&line, "hint").contains("500, not 400"));
    assert_no_submitted_value(&proxy);
}

#[test]
fn write_not_sent_as_json_is_explained() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    let body = r#"{"name":"Zubaidah Testname"}"#;
    assert_eq!(post(&proxy, "/api/app/customer", "text/plain", body), 500);
    let line = wait_diagnosis(&proxy, "request_not_json");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("text/plain"));
    assert!(text_field(&line, "hint").contains("application/json"));
}

#[test]
fn unknown_entity_and_unknown_path_differ() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    let entity = "/api/public/customers/3fa85f64-5717-4562-b3fc-2c963f66afa6";
    assert_eq!(get(&proxy, entity), 404);
    let line = wait_diagnosis(&proxy, "entity_not_found");
    assert!(log_message(&line).unwrap_or_default().contains("Customer"));

    assert_eq!(get(&proxy, "/api/public/customer"), 404);
    let line = wait_diagnosis(&proxy, "path_not_found");
    assert!(text_field(&line, "hint").contains("/api/public"));
}

#[test]
fn slow_rekaz_is_upstream_timeout() {
    let sandbox = SandboxProcess::start_with(ProcessBuilder::sandbox().arg("--latency=60s"));
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "300ms")
        .start();

    assert_eq!(get(&proxy, "/api/public/subscriptions"), 504);
    let line = wait_diagnosis(&proxy, "upstream_timeout");
    assert_eq!(level(&line), "ERROR");
    assert!(number_field(&line, "in_flight").is_some_and(|count| count >= 1));
    assert!(text_field(&line, "hint").contains("concurrency"));
    assert!(text_field(&line, "hint").contains("upstream.timeout"));
}

#[test]
fn timeout_counts_concurrent_requests() {
    let gate = Gate::new();
    let upstream = RecordingUpstream::replying(Reply::ok().hold_until(&gate));
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "2s")
        .start();
    let url = format!("{}/api/public/subscriptions", proxy.url());

    let clients: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || curl(&[&url]).status)
        })
        .collect();
    upstream.wait_requests(2, PROCESS_TIMEOUT);
    for client in clients {
        assert_eq!(client.join().expect("client thread"), 504);
    }
    gate.open();

    let line = wait_diagnosis(&proxy, "upstream_timeout");
    assert_eq!(number_field(&line, "in_flight"), Some(2));
}

#[test]
fn rate_limit_with_and_without_retry_after() {
    let upstream = RecordingUpstream::with_replies(vec![
        Reply::status(429).header("Retry-After", "17"),
        Reply::status(503),
    ]);
    let proxy = ProxyProcess::start(&upstream.url());

    assert_eq!(get(&proxy, "/api/public/products"), 429);
    let line = wait_diagnosis(&proxy, "rate_limited");
    assert_eq!(text_field(&line, "retry_after"), "17 s");

    assert_eq!(get(&proxy, "/api/public/products"), 503);
    let line = wait_diagnosis(&proxy, "rekaz_unavailable");
    assert_eq!(log_field(&line, "retry_after"), None);
    assert!(text_field(&line, "hint").contains("Retry later"));
}

#[test]
fn repeated_401s_are_summarised_in_the_log() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .env("REKAZ_PROXY__LOG__REPEAT_WINDOW", "2s")
        .start();

    for _ in 0..3 {
        assert_eq!(get(&proxy, "/api/public/customers"), 401);
    }
    let is_summary = |line: &Value| {
        is_diagnosis(line, "credentials_rejected") && log_field(line, "repeated").is_some()
    };
    let summary = proxy.wait_for_log(is_summary, PROCESS_TIMEOUT);
    assert_eq!(number_field(&summary, "repeated"), Some(2));
    assert!(text_field(&summary, "hint").contains("env:REKAZ_API_SECRET"));

    let full_lines = proxy
        .json_logs()
        .into_iter()
        .filter(|line| is_diagnosis(line, "credentials_rejected") && !is_summary(line))
        .count();
    assert_eq!(full_lines, 1);
}

#[test]
fn submitted_values_never_reach_the_log() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let customer = r#"{"name":"Zubaidah Testname","mobileNumber":"0559876543","customerType":1}"#;
    let subscription = r#"{"customerId":"not-a-guid-4471","startAt":"next tuesday",
        "items":[{"priceId":"BADPRICE-9931","quantity":1}]}"#;

    assert_eq!(post_json(&proxy, "/api/app/customer", customer), 200);
    assert_eq!(post_json(&proxy, "/api/app/customer", customer), 403);
    assert_eq!(
        post_json(&proxy, "/api/public/subscriptions", subscription),
        400
    );
    let bad_type = r#"{"name":"Zubaidah Testname","mobileNumber":"0559876543","customerType":"corporate-xyz"}"#;
    assert_eq!(post_json(&proxy, "/api/app/customer", bad_type), 400);
    let query = "/api/public/customers/x?mobileNumber=0559876543";
    assert_eq!(get(&proxy, query), 400);

    // The proxy writes an exchange's access line and diagnosis before the response body
    // ends, so waiting for every access line lets the capture catch up with the diagnoses.
    let is_access = |line: &Value| log_target(line) == Some("rekaz_proxy::access");
    proxy.wait_for_logs(is_access, 5, PROCESS_TIMEOUT);
    wait_diagnosis(&proxy, "business_rule");
    wait_diagnosis(&proxy, "validation_failed");
    assert_no_submitted_value(&proxy);
}

/// Log lines written by the in-process tests, as JSON objects.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn lines(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    fn with_cause(&self, cause: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|line| is_diagnosis(line, cause))
            .collect()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `test` on a single-threaded runtime whose log lines go to the returned capture.
fn with_captured_logs(test: impl AsyncFnOnce(CapturedLogs)) -> CapturedLogs {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a runtime");
    runtime.block_on(test(logs.clone()));
    logs
}

/// Lets `diagnostics` examine a 401 with an empty body, as Rekaz sends for a wrong key.
fn examine_unauthorized(diagnostics: &Diagnostics) {
    let headers = HeaderMap::new();
    let user_agent = HeaderValue::from_static("rekaz-proxy/test");
    diagnostics.examine(&ExchangeFacts {
        method: &Method::GET,
        target: "/api/public/customers",
        status: StatusCode::UNAUTHORIZED,
        response_headers: &headers,
        body_prefix: b"",
        request_body: None,
        request_streamed: false,
        request_content_type: None,
        client_credentials: StrippedClientCredentials::default(),
        credentials: None,
        user_agent: &user_agent,
        peer_ip: None,
        client_user_agent: None,
        correlation_id: "in-process",
        proxy_error: None,
        in_flight: 1,
    });
}

#[test]
fn repeats_are_summarised_once_per_window() {
    let logs = with_captured_logs(async |logs: CapturedLogs| {
        let diagnostics = Diagnostics::new(Duration::from_millis(100));
        for _ in 0..5 {
            examine_unauthorized(&diagnostics);
        }
        assert_eq!(logs.with_cause("credentials_rejected").len(), 1);

        let deadline = Instant::now() + PROCESS_TIMEOUT;
        while logs.with_cause("credentials_rejected").len() < 2 {
            assert!(
                Instant::now() < deadline,
                "no summary line within {PROCESS_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let lines = logs.with_cause("credentials_rejected");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(number_field(&lines[1], "repeated"), Some(4));
    assert!(!text_field(&lines[1], "hint").is_empty());
}

#[test]
fn counters_count_suppressed_repeats() {
    with_captured_logs(async |_| {
        let diagnostics = Diagnostics::new(Duration::from_secs(60));
        for _ in 0..3 {
            examine_unauthorized(&diagnostics);
        }
        assert_eq!(diagnostics.count(Cause::CredentialsRejected), 3);
        assert_eq!(diagnostics.count(Cause::TenantNotFound), 0);
        let counts = diagnostics.counts();
        assert_eq!(counts.len(), Cause::ALL.len());
        assert!(counts.contains(&(Cause::CredentialsRejected, 3)));
    });
}

/// Sends `GET path` and returns the status, without the harness's secret check on the response
/// body: an upstream that echoes a secret sends it back to the client too, and the proxy
/// forwards Rekaz's responses unchanged. The proxy's own output is still scanned on drop.
fn get_status_only(proxy: &ProxyProcess, path: &str) -> u16 {
    let url = format!("{}{path}", proxy.url());
    let output = curl_output(&["--output", "/dev/null", "--write-out", "%{http_code}", &url]);
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("curl wrote the status code")
}

/// Writes `text` as a JSON string whose first character is a `\uXXXX` escape, the way
/// System.Text.Json escapes `+`, so only a decoded comparison finds it.
fn json_escaped(text: &str) -> String {
    let mut characters = text.chars();
    let first = characters.next().expect("a non-empty text");
    format!("\\u{:04X}{}", first as u32, characters.as_str())
}

#[test]
fn echoed_secret_in_body_is_redacted() {
    let upstream = RecordingUpstream::start(|request| {
        let authorization = request.header("authorization").unwrap_or_default();
        let body = format!(
            r#"{{"error":{{"message":"Header {} does not match the secret {}"}}}}"#,
            json_escaped(authorization),
            json_escaped(API_SECRET)
        );
        Reply::json(400, &body)
    });
    let proxy = ProxyProcess::start(&upstream.url());

    assert_eq!(get_status_only(&proxy, "/api/public/branches"), 400);
    let line = wait_diagnosis(&proxy, "request_rejected");
    assert_eq!(
        text_field(&line, "detail"),
        "Header [redacted] does not match the secret [redacted]"
    );
}

#[test]
fn echoed_secret_in_header_is_redacted() {
    let upstream = RecordingUpstream::start(|request| {
        let authorization = request.header("authorization").unwrap_or_default();
        Reply::status(401).header(
            "Abp-Tenant-Resolve-Error",
            &format!("Tenant not found for {authorization}"),
        )
    });
    let proxy = ProxyProcess::start(&upstream.url());

    assert_eq!(get_status_only(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "tenant_not_found");
    assert_eq!(
        text_field(&line, "detail"),
        "Abp-Tenant-Resolve-Error: Tenant not found for [redacted]"
    );
}

#[test]
fn echoed_secret_in_location_is_redacted() {
    let upstream = RecordingUpstream::replying(
        Reply::status(302).header("Location", &format!("/moved/{API_SECRET}/branches")),
    );
    let proxy = ProxyProcess::start(&upstream.url());

    assert_eq!(get_status_only(&proxy, "/api/public/branches"), 302);
    let line = wait_diagnosis(&proxy, "redirected");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("/moved/[redacted]/branches"));
}

#[test]
fn trailing_tab_in_secret_file_is_named() {
    let sandbox = SandboxProcess::start();
    let file = secret_file(&format!("{API_SECRET}\t"));
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", file.path().to_string_lossy())
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "credential_whitespace");
    assert!(log_message(&line)
        .unwrap_or_default()
        .contains("the API secret from file:"));
}

#[test]
fn line_break_note_names_only_that_value() {
    let sandbox = SandboxProcess::start();
    let key = secret_file(API_KEY);
    let secret = secret_file(&format!("{WRONG_SECRET}\n"));
    let tenant = secret_file(&format!("{TENANT_ID}\n"));
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .remove_env("REKAZ_TENANT_ID")
        .env("REKAZ_API_KEY_FILE", key.path().to_string_lossy())
        .env("REKAZ_API_SECRET_FILE", secret.path().to_string_lossy())
        .env("REKAZ_TENANT_ID_FILE", tenant.path().to_string_lossy())
        .start();

    assert_eq!(get(&proxy, "/api/public/branches"), 401);
    let line = wait_diagnosis(&proxy, "credentials_rejected");
    let detail = text_field(&line, "detail");
    let secret_source = format!("the API secret from file:{}", secret.path().display());
    assert!(detail.contains(&secret_source), "{detail}");
    assert!(!detail.contains("API key"), "{detail}");
    assert!(!detail.contains("tenant id"), "{detail}");
    assert!(!detail.contains("value itself is wrong"), "{detail}");
}
