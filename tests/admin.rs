//! The admin listener: health, readiness and Prometheus metrics, apart from the proxy port.

mod common;

use common::{
    curl, log_field, Gate, ProcessBuilder, ProxyProcess, RecordingUpstream, Reply, SandboxProcess,
    PROCESS_TIMEOUT, WRONG_SECRET,
};
use serde_json::Value;

fn admin_url(proxy: &ProxyProcess) -> String {
    let ready = proxy.wait_for_message("rekaz-proxy listening", PROCESS_TIMEOUT);
    let admin = log_field(&ready, "admin")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("ready line has no `admin` address: {ready}"));
    format!("http://{admin}")
}

/// Returns the sample lines of `/metrics` whose name and labels start with `prefix`.
fn samples(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn metrics_count_exchanges_and_causes() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let wrong = ProcessBuilder::proxy(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();
    for _ in 0..2 {
        let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);
        assert_eq!(response.status, 200);
    }
    let rejected = curl(&[&format!("{}/api/public/branches", wrong.url())]);
    assert_eq!(rejected.status, 401);

    let metrics = curl(&[&format!("{}/metrics", admin_url(&proxy))]);
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text();
    assert_eq!(
        samples(&text, "rekaz_proxy_exchanges_total{"),
        ["rekaz_proxy_exchanges_total{method=\"GET\",status=\"200\"} 2"]
    );
    assert_eq!(
        samples(&text, "rekaz_proxy_upstream_latency_seconds_count"),
        ["rekaz_proxy_upstream_latency_seconds_count 2"]
    );
    assert_eq!(
        samples(&text, "rekaz_proxy_credentials_ready"),
        ["rekaz_proxy_credentials_ready 1"]
    );
    assert_eq!(
        samples(&text, "rekaz_proxy_upstream_in_flight"),
        ["rekaz_proxy_upstream_in_flight 0"]
    );
    common::assert_no_secret("/metrics", &text);

    let wrong_metrics = curl(&[&format!("{}/metrics", admin_url(&wrong))]).text();
    assert!(
        wrong_metrics.contains("rekaz_proxy_exchanges_total{method=\"GET\",status=\"401\"} 1\n"),
        "{wrong_metrics}"
    );
    assert!(
        wrong_metrics.contains("rekaz_proxy_diagnoses_total{cause=\"credentials_rejected\"} 1\n"),
        "{wrong_metrics}"
    );
}

#[test]
fn health_and_readiness_answer_apart_from_proxy() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let admin = admin_url(&proxy);
    assert_ne!(admin, proxy.url(), "admin shares the proxy's address");

    let health = curl(&[&format!("{admin}/healthz")]);
    assert_eq!(health.status, 200);
    let ready = curl(&[&format!("{admin}/readyz")]);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
}

#[test]
fn empty_admin_listen_turns_it_off() {
    let sandbox = SandboxProcess::start();
    let proxy = ProcessBuilder::proxy(&sandbox.url())
        .env("REKAZ_PROXY__ADMIN__LISTEN", "")
        .start();
    let ready = proxy.wait_for_message("rekaz-proxy listening", PROCESS_TIMEOUT);
    assert!(
        log_field(&ready, "admin").is_none_or(Value::is_null),
        "{ready}"
    );
}

#[test]
fn readiness_fails_during_shutdown_grace() {
    let gate = Gate::new();
    let upstream = RecordingUpstream::replying(Reply::ok().hold_until(&gate));
    let mut proxy = ProxyProcess::start(&upstream.url());
    let admin = admin_url(&proxy);
    let url = format!("{}/api/public/products", proxy.url());
    let client = std::thread::spawn(move || curl(&[&url]));
    upstream.wait_requests(1, PROCESS_TIMEOUT);

    proxy.signal("TERM");
    proxy.wait_for_message(
        "shutting down; finishing requests in flight",
        PROCESS_TIMEOUT,
    );
    let readiness = curl(&[&format!("{admin}/readyz")]);
    gate.open();

    assert_eq!(readiness.status, 503);
    assert_eq!(readiness.json()["status"], "shutting_down");
    assert_eq!(client.join().expect("the client thread").status, 200);
    assert_eq!(proxy.wait_exit(PROCESS_TIMEOUT).code(), Some(0));
}

#[test]
fn admin_on_proxy_port_is_rejected() {
    // `check --offline` never connects, so the upstream is a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let upstream = format!("http://{}", closed.local_addr().expect("bound address"));
    drop(closed);
    let mut check = ProcessBuilder::command(&["check", "--offline"])
        .arg("--upstream")
        .arg(upstream)
        .env("REKAZ_PROXY__LISTEN", "127.0.0.1:8080")
        .env("REKAZ_PROXY__ADMIN__LISTEN", "127.0.0.1:8080")
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    assert_eq!(status.code(), Some(2));
    let output = check.logs().join("\n");
    assert!(output.contains("`admin.listen`"), "{output}");
    assert!(output.contains("`listen`"), "{output}");
}
