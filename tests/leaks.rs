//! A broad workload through real proxies at the most verbose log levels, proving that no
//! secret form reaches a log line, an error body or the output of `check` and `demo`.
//!
//! The harness scans every captured line and every response body; these tests add the
//! workload, the verbose levels, and checks that only this file makes.

mod common;

use std::net::TcpListener;

use common::*;

/// Base64 of `rkz_demo_`, the start of every key the demo generates. Any `base64(key:secret)`
/// of the demo begins with it, because the prefix is a whole number of 3-byte groups.
const DEMO_BASIC_PREFIX: &str = "cmt6X2RlbW9f";

/// The wrong secret the demo's second proxy uses.
const DEMO_WRONG_SECRET: &str = "not-the-secret";

/// Returns a proxy builder that logs everything, in JSON unless the test changes it.
fn verbose_proxy(upstream: &str) -> ProcessBuilder {
    ProxyProcess::builder(upstream).env("REKAZ_PROXY__LOG__LEVEL", "trace")
}

/// Asserts that no line shows the whole API key: logs show only its first four characters.
fn assert_key_masked(process: &ProxyProcess) {
    for line in process.logs() {
        assert!(
            !line.contains(API_KEY),
            "the full API key was logged: {line}"
        );
    }
}

fn closed_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    format!("http://{}", listener.local_addr().expect("bound address"))
}

#[test]
fn successful_and_rejected_calls_leak_nothing() {
    let sandbox = SandboxProcess::start();
    let proxy = verbose_proxy(&sandbox.url()).start();
    let base = proxy.url();
    let json = [
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json",
    ];
    let customer = r#"{"name":"Sara","mobileNumber":"0501234567","customerType":1}"#;

    let branches = curl(&[&json[..], &[&format!("{base}/api/public/branches")]].concat());
    let created = curl(
        &[
            &json[..],
            &[
                "--data-binary",
                customer,
                &format!("{base}/api/app/customer"),
            ],
        ]
        .concat(),
    );
    let duplicate = curl(
        &[
            &json[..],
            &[
                "--data-binary",
                customer,
                &format!("{base}/api/app/customer"),
            ],
        ]
        .concat(),
    );
    let invalid = curl(
        &[
            &json[..],
            &[
                "--data-binary",
                r#"{"customerId":"","items":[{"priceId":"BAD","quantity":1}]}"#,
                &format!("{base}/api/public/subscriptions"),
            ],
        ]
        .concat(),
    );
    let malformed = curl(
        &[
            &json[..],
            &[
                "--data-binary",
                "{\"name\":",
                &format!("{base}/api/app/customer"),
            ],
        ]
        .concat(),
    );
    let searched = curl(&[&format!(
        "{base}/api/public/customers?mobileNumber=0501234567"
    )]);

    assert_eq!(branches.status, 200, "branches: {}", branches.text());
    assert_eq!(created.status, 200, "create: {}", created.text());
    assert_eq!(duplicate.status, 403, "duplicate: {}", duplicate.text());
    assert_eq!(invalid.status, 400, "invalid: {}", invalid.text());
    assert_eq!(malformed.status, 500, "malformed: {}", malformed.text());
    assert_eq!(searched.status, 200, "search: {}", searched.text());
    assert_key_masked(&proxy);
    for line in proxy.logs() {
        assert!(
            !line.contains("0501234567"),
            "a mobile number was logged: {line}"
        );
    }
}

#[test]
fn client_sent_credentials_leak_nothing() {
    let sandbox = SandboxProcess::start();
    let proxy = verbose_proxy(&sandbox.url()).start();
    // A client that wrongly sends the real credentials itself: the proxy strips them, and
    // neither the access log nor a diagnosis may print them.
    let authorization = format!("Authorization: {}", expected_authorization());

    let response = curl(&[
        "-H",
        &authorization,
        "-H",
        &format!("__tenant: {TENANT_ID}"),
        &format!("{}/api/public/branches", proxy.url()),
    ]);

    assert_eq!(response.status, 200, "body: {}", response.text());
    assert_key_masked(&proxy);
}

#[test]
fn unauthorized_diagnosis_leaks_nothing() {
    let sandbox = SandboxProcess::start();
    let proxy = verbose_proxy(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();

    let response = curl(&[&format!("{}/api/public/customers", proxy.url())]);
    assert_eq!(response.status, 401);

    // The diagnosis is logged once the response body ends; wait for it before the scan.
    proxy.wait_for_log(
        |line| log_target(line).is_some_and(|target| target.starts_with("rekaz_proxy::diagnosis")),
        PROCESS_TIMEOUT,
    );
    assert_key_masked(&proxy);
}

#[test]
fn proxy_failures_leak_nothing() {
    let unreachable = verbose_proxy(&closed_upstream()).start();
    let gate = Gate::new();
    let slow = RecordingUpstream::replying(Reply::ok().hold_until(&gate));
    let timing_out = verbose_proxy(&slow.url())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "1s")
        .env("REKAZ_PROXY__LIMITS__MAX_REQUEST_BODY_BYTES", "100")
        .start();

    let bad_gateway = curl(&[&format!("{}/api/public/branches", unreachable.url())]);
    let timeout = curl(&[&format!("{}/api/public/branches", timing_out.url())]);
    gate.open();
    let too_large = curl(&[
        "--data-binary",
        &"z".repeat(101),
        &format!("{}/api/public/customers", timing_out.url()),
    ]);
    let dot_segment = raw_get(timing_out.address(), "/api/%2e%2e/admin");

    assert_proxy_error(&bad_gateway, 502, "upstream_unreachable");
    assert_proxy_error(&timeout, 504, "upstream_timeout");
    assert_proxy_error(&too_large, 413, "body_too_large");
    assert_proxy_error(&dot_segment, 400, "invalid_path");
    assert_key_masked(&unreachable);
    assert_key_masked(&timing_out);
}

#[test]
fn text_logs_leak_nothing() {
    let sandbox = SandboxProcess::start();
    let good = verbose_proxy(&sandbox.url())
        .env("REKAZ_PROXY__LOG__FORMAT", "text")
        .start();
    let wrong = verbose_proxy(&sandbox.url())
        .env("REKAZ_PROXY__LOG__FORMAT", "text")
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();

    let accepted = curl(&[&format!("{}/api/public/branches", good.url())]);
    let rejected = curl(&[&format!("{}/api/public/branches", wrong.url())]);

    assert_eq!(accepted.status, 200);
    assert_eq!(rejected.status, 401);
    assert_key_masked(&good);
    assert_key_masked(&wrong);
}

#[test]
fn check_output_leaks_nothing() {
    let sandbox = SandboxProcess::start();
    let runs = [
        (vec!["check", "--offline"], None, 0),
        (vec!["check"], None, 0),
        (vec!["check"], Some(WRONG_SECRET), 1),
    ];

    for (args, secret, expected) in runs {
        let mut builder = ProcessBuilder::command(&args)
            .arg("--upstream")
            .arg(sandbox.url())
            .env("REKAZ_PROXY__LOG__LEVEL", "trace");
        if let Some(secret) = secret {
            builder = builder.env("REKAZ_API_SECRET", secret);
        }
        let mut check = builder.spawn();

        let status = check.wait_exit(PROCESS_TIMEOUT);

        assert_eq!(status.code(), Some(expected), "rekaz-proxy {args:?}");
        assert_key_masked(&check);
    }
}

#[test]
fn demo_output_leaks_nothing() {
    let mut demo = ProcessBuilder::command(&["demo"]).spawn();

    let status = demo.wait_exit(PROCESS_TIMEOUT);

    assert!(status.success(), "demo failed: {:?}", demo.logs());
    for line in demo.logs() {
        assert!(
            !line.contains(DEMO_BASIC_PREFIX),
            "the demo printed base64(key:secret)"
        );
        assert!(
            !line.contains(DEMO_WRONG_SECRET),
            "the demo printed its wrong secret"
        );
    }
}

#[test]
fn harness_scan_catches_a_leak() {
    // `check` prints the User-Agent, so setting it to the secret makes the process print it.
    // The harness's scan on drop must then fail the test, naming the marker but not the value.
    let leaked = std::panic::catch_unwind(|| {
        let mut check = ProcessBuilder::command(&["check", "--offline"])
            .arg("--upstream")
            .arg(closed_upstream())
            .env("REKAZ_PROXY__UPSTREAM__USER_AGENT", API_SECRET)
            .spawn();
        check.wait_exit(PROCESS_TIMEOUT);
    });

    let payload = leaked.expect_err("the scan let the secret through");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("contains the API secret"), "{message:?}");
    assert!(
        !message.contains(API_SECRET),
        "the panic message shows the secret"
    );
}
