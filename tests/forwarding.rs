//! The core proxy's contract, observed on the wire: what reaches Rekaz, what comes back, what
//! the logs record, and how the process stops.
//!
//! Each test starts its own `rekaz-proxy run` in front of a `RecordingUpstream`, so it can
//! assert on the exact bytes the proxy sent. The harness scans every log line for secrets.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// `{"items":[{"id":"branch-1"}],"totalCount":1}` compressed by Python's `gzip.compress`
/// with `mtime=0`.
const GZIP_BODY: [u8; 64] = [
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 202, 44, 73, 205, 45, 86, 178, 138, 174, 86, 202, 76,
    81, 178, 82, 74, 42, 74, 204, 75, 206, 208, 53, 84, 170, 141, 213, 81, 42, 201, 47, 73, 204,
    113, 206, 47, 205, 43, 81, 178, 50, 172, 5, 0, 90, 31, 125, 138, 44, 0, 0, 0,
];

const EIGHT_MIB: usize = 8 * 1024 * 1024;

/// Returns `length` deterministic bytes that do not compress, from an xorshift generator.
fn pseudo_random_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(length + 8);
    while bytes.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(length);
    bytes
}

/// Returns the 64-bit FNV-1a hash of `bytes`, to compare large bodies without printing them.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `bytes` to a new temporary file for `curl --data-binary @file`.
fn temporary_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("creating a temporary file");
    file.write_all(bytes).expect("writing the temporary file");
    file
}

fn is_access_line(line: &Value) -> bool {
    log_target(line) == Some("rekaz_proxy::access")
}

/// Waits until the proxy logged `count` access lines and returns them all.
fn wait_access_lines(proxy: &ProxyProcess, count: usize) -> Vec<Value> {
    proxy.wait_for_logs(is_access_line, count, PROCESS_TIMEOUT)
}

/// Returns a loopback port that nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("bound address").port()
}

/// Sends one request through a proxy whose `timeout_variable` is 1 s to an upstream that
/// sends nothing until the proxy has given up, and returns the client's response.
fn response_from_silent_upstream(timeout_variable: &str) -> HttpResponse {
    let gate = Gate::new();
    let upstream = RecordingUpstream::replying(Reply::ok().hold_until(&gate));
    let proxy = ProxyProcess::builder(&upstream.url())
        .env(timeout_variable, "1s")
        .start();

    let response = curl(&[&format!("{}/api/public/products", proxy.url())]);
    gate.open();
    response
}

/// Reads from `stream` until `bytes` contains `marker`.
fn read_until_contains(stream: &mut TcpStream, bytes: &mut Vec<u8>, marker: &[u8]) {
    let mut buffer = [0; 4096];
    while !bytes.windows(marker.len()).any(|window| window == marker) {
        let read = stream.read(&mut buffer).expect("reading from the proxy");
        assert!(
            read > 0,
            "the proxy closed the connection before {marker:?}"
        );
        bytes.extend_from_slice(&buffer[..read]);
    }
}

/// Opens a connection that sends `bytes` and then nothing more.
fn stalled_connection(proxy: &ProxyProcess, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(proxy.address()).expect("connecting to the proxy");
    stream
        .set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("setting a read timeout");
    stream
        .write_all(bytes)
        .expect("sending the partial request");
    stream
}

/// Reads until the proxy closes `stream` and returns what it sent, or panics when the read
/// times out because the connection stayed open.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => answer,
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => answer,
        Err(error) => panic!("the proxy kept the connection open: {error}"),
    }
}

// Request line: method, path and query.

#[test]
fn targets_reach_upstream_byte_for_byte() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let targets = [
        "/api//a%2Fb/%2520/c?x=1&x=2&y=%20&x=3",
        "/api/public/customers?mobileNumber=0501&mobileNumber=0502&skipCount=0",
        "/api/public/customers/",
        "/api/public/customers",
        "/api/public/a..b/.well-known/%7Euser",
        "/api/public/customers?name=O'Neil&tags=[1]&q={a}|b^c`d",
        "/",
    ];

    for (index, target) in targets.iter().enumerate() {
        let response = raw_get(proxy.address(), target);
        assert_eq!(response.status, 200, "status for {target}");
        let requests = upstream.wait_requests(index + 1, PROCESS_TIMEOUT);
        assert_eq!(requests[index].target, *target, "upstream target");
    }
}

#[test]
fn methods_reach_upstream_unchanged() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

    for (index, method) in methods.iter().enumerate() {
        let response = raw_request(proxy.address(), method, "/api/public/x", &[], b"");
        assert_eq!(response.status, 200, "status for {method}");
        let requests = upstream.wait_requests(index + 1, PROCESS_TIMEOUT);
        assert_eq!(requests[index].method, *method, "upstream method");
    }
}

#[test]
fn dot_segments_rejected_before_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let targets = [
        "/api/../admin",
        "/api/%2e%2e/admin",
        "/api/%2E%2e/admin",
        "/api/.%2e/admin",
        "/api/./public",
        "/api/public/..",
        "/api/%2e/public?x=1",
    ];

    for target in targets {
        let response = raw_get(proxy.address(), target);
        assert_proxy_error(&response, 400, "invalid_path");
    }
    assert_eq!(upstream.connections(), 0, "connections reached upstream");
}

// Bodies.

#[test]
fn small_body_keeps_content_length() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/customers", proxy.url());
    curl(&["--data-binary", "{\"name\":\"Abdulaziz\"}", &url]);

    let request = upstream.single_request();
    assert_eq!(request.header("content-length"), Some("20"));
    assert!(!request.chunked, "the body was re-framed as chunked");
    assert_eq!(request.body, b"{\"name\":\"Abdulaziz\"}");
}

#[test]
fn streamed_body_keeps_content_length() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    // Larger than the 64 KiB the proxy keeps in memory, so it streams.
    let body = pseudo_random_bytes(200 * 1024, 1);
    let file = temporary_file(&body);

    let data = format!("@{}", file.path().display());
    let url = format!("{}/api/public/customers", proxy.url());
    curl(&["--data-binary", &data, &url]);

    let request = upstream.single_request();
    assert_eq!(request.header("content-length"), Some("204800"));
    assert!(!request.chunked, "the body was re-framed as chunked");
    assert_eq!(digest(&request.body), digest(&body), "body differs");
}

#[test]
fn chunked_body_streams_to_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let mut stream = TcpStream::connect(proxy.address()).expect("connecting to the proxy");
    stream
        .set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("setting a read timeout");

    let head = format!(
        "POST /api/public/customers HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        proxy.address()
    );
    stream.write_all(head.as_bytes()).expect("sending the head");
    stream
        .write_all(b"6\r\nfirst \r\n")
        .expect("sending a chunk");
    // The first chunk reaches Rekaz while the client has not finished its body.
    upstream.wait_body_in_progress(6, PROCESS_TIMEOUT);
    stream
        .write_all(b"6\r\nsecond\r\n0\r\n\r\n")
        .expect("sending the rest");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("reading the response");

    let (response, _) = parse_response(&answer, false);
    assert_eq!(response.status, 200);
    let request = upstream.single_request();
    assert!(request.chunked, "upstream body is not chunked");
    assert_eq!(request.header_values("transfer-encoding"), ["chunked"]);
    assert_eq!(request.body, b"first second");
}

#[test]
fn large_upload_arrives_intact() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let body = pseudo_random_bytes(EIGHT_MIB, 2);
    let file = temporary_file(&body);

    let data = format!("@{}", file.path().display());
    let url = format!("{}/api/public/attendances", proxy.url());
    let response = curl(&["--data-binary", &data, &url]);

    assert_eq!(response.status, 200);
    let request = upstream.single_request();
    assert_eq!(request.body.len(), EIGHT_MIB, "upstream body length");
    assert_eq!(digest(&request.body), digest(&body), "body differs");
}

#[test]
fn large_chunked_upload_arrives_intact() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let body = pseudo_random_bytes(EIGHT_MIB, 3);
    let file = temporary_file(&body);

    let data = format!("@{}", file.path().display());
    let url = format!("{}/api/public/attendances", proxy.url());
    let response = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &data,
        &url,
    ]);

    assert_eq!(response.status, 200);
    let request = upstream.single_request();
    assert!(request.chunked, "upstream body is not chunked");
    assert_eq!(digest(&request.body), digest(&body), "body differs");
}

#[test]
fn large_chunked_download_arrives_intact() {
    let body = pseudo_random_bytes(EIGHT_MIB, 4);
    let upstream =
        RecordingUpstream::replying(Reply::status(200).body(body.clone()).chunked(65_536));
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/public/reservations", proxy.url())]);

    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), EIGHT_MIB, "downloaded length");
    assert_eq!(digest(&response.body), digest(&body), "body differs");
}

#[test]
fn download_keeps_content_length() {
    let body = pseudo_random_bytes(EIGHT_MIB, 5);
    let upstream = RecordingUpstream::replying(Reply::status(200).body(body.clone()));
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/public/reservations", proxy.url())]);

    assert_eq!(response.header("content-length"), Some("8388608"));
    assert_eq!(response.header("transfer-encoding"), None);
    assert_eq!(digest(&response.body), digest(&body), "body differs");
}

#[test]
fn response_streams_before_upstream_finishes() {
    let gate = Gate::new();
    let reply = Reply::status(200)
        .body("first part|second part")
        .pause_body_after(11, &gate);
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::start(&upstream.url());
    let mut stream = TcpStream::connect(proxy.address()).expect("connecting to the proxy");
    stream
        .set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("setting a read timeout");

    let request = format!(
        "GET /api/public/products HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        proxy.address()
    );
    stream.write_all(request.as_bytes()).expect("sending");
    let mut answer = Vec::new();
    // The first part arrives while the upstream still withholds the rest.
    read_until_contains(&mut stream, &mut answer, b"first part|");
    gate.open();
    stream.read_to_end(&mut answer).expect("reading the rest");

    let (response, _) = parse_response(&answer, false);
    assert_eq!(response.text(), "first part|second part");
}

#[test]
fn gzip_response_passes_untouched() {
    let reply = Reply::status(200)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(GZIP_BODY.to_vec());
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/branches", proxy.url());
    let response = curl(&["-H", "Accept-Encoding: gzip", &url]);

    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(response.header("content-length"), Some("64"));
    assert_eq!(response.body, GZIP_BODY);
    let request = upstream.single_request();
    assert_eq!(request.header("accept-encoding"), Some("gzip"));
}

#[test]
fn gzip_request_body_passes_untouched() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let file = temporary_file(&GZIP_BODY);

    let data = format!("@{}", file.path().display());
    let url = format!("{}/api/public/customers", proxy.url());
    curl(&["-H", "Content-Encoding: gzip", "--data-binary", &data, &url]);

    let request = upstream.single_request();
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.body, GZIP_BODY);
}

// Request headers.

#[test]
fn client_credentials_never_reach_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let headers = [
        ("Authorization", "Basic Y2xpZW50OmNsaWVudC1zZWNyZXQ="),
        ("Proxy-Authorization", "Basic cHJveHk6cHJveHk="),
        ("__tenant", "0d6c1b2a-4e5f-4a3b-9c8d-7e6f5a4b3c2d"),
    ];

    raw_request(
        proxy.address(),
        "GET",
        "/api/public/branches",
        &headers,
        b"",
    );

    let request = upstream.single_request();
    let authorization = request.header_values("authorization");
    // Compared without assert_eq so that a failure never prints the secret.
    assert!(
        authorization == [expected_authorization()],
        "upstream got {} Authorization values, not exactly the injected one",
        authorization.len()
    );
    assert_eq!(request.header_values("__tenant"), [TENANT_ID]);
    assert!(!request.has_header("proxy-authorization"));
}

#[test]
fn hop_by_hop_headers_are_removed() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let headers = [
        ("Connection", "close, X-Hop-Named, Keep-Alive"),
        ("X-Hop-Named", "1"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Upgrade", "websocket"),
        ("Proxy-Connection", "keep-alive"),
        ("X-Kept", "yes"),
    ];

    raw_request(
        proxy.address(),
        "GET",
        "/api/public/branches",
        &headers,
        b"",
    );

    let request = upstream.single_request();
    for name in [
        "x-hop-named",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    ] {
        assert!(!request.has_header(name), "{name} reached upstream");
    }
    for value in request.header_values("connection") {
        assert!(
            !value.to_ascii_lowercase().contains("x-hop-named"),
            "the client's Connection reached upstream: {value}"
        );
    }
    assert_eq!(request.header("x-kept"), Some("yes"));
}

#[test]
fn host_header_names_the_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/branches", proxy.url());
    curl(&["-H", "Host: localhost:1", &url]);

    let request = upstream.single_request();
    assert_eq!(
        request.header_values("host"),
        [upstream.address().to_string()]
    );
}

#[test]
fn user_agent_is_the_proxys_by_default() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/branches", proxy.url());
    curl(&["-A", "Python-urllib/3.12", &url]);

    let expected = format!("rekaz-proxy/{}", env!("CARGO_PKG_VERSION"));
    let request = upstream.single_request();
    assert_eq!(request.header_values("user-agent"), [expected]);
}

#[test]
fn user_agent_is_configurable() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env(
            "REKAZ_PROXY__UPSTREAM__USER_AGENT",
            "acme-bookings/2.1 (ops@acme.test)",
        )
        .start();

    let url = format!("{}/api/public/branches", proxy.url());
    curl(&["-A", "curl/8.5.0", &url]);

    let request = upstream.single_request();
    assert_eq!(
        request.header_values("user-agent"),
        ["acme-bookings/2.1 (ops@acme.test)"]
    );
}

#[test]
fn end_to_end_headers_pass_unchanged() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/app/customer", proxy.url());
    curl(&[
        "-H",
        "Accept: application/json, text/plain;q=0.5",
        "-H",
        "Accept-Language: ar",
        "-H",
        "X-Requested-With: XMLHttpRequest",
        "-H",
        "Content-Type: application/json; charset=utf-8",
        "-H",
        "X-Correlation-Id: order-42",
        "--data-binary",
        "{}",
        &url,
    ]);

    let request = upstream.single_request();
    assert_eq!(
        request.header_values("accept"),
        ["application/json, text/plain;q=0.5"]
    );
    assert_eq!(request.header_values("accept-language"), ["ar"]);
    assert_eq!(
        request.header_values("x-requested-with"),
        ["XMLHttpRequest"]
    );
    assert_eq!(
        request.header_values("content-type"),
        ["application/json; charset=utf-8"]
    );
    assert_eq!(request.header_values("x-correlation-id"), ["order-42"]);
}

// Response headers and status.

#[test]
fn repeated_set_cookie_all_return() {
    let reply = Reply::ok()
        .header("Set-Cookie", "a=1; Path=/")
        .header("Set-Cookie", "b=2; HttpOnly")
        .header("Set-Cookie", "c=3; Secure");
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(
        response.header_values("set-cookie"),
        ["a=1; Path=/", "b=2; HttpOnly", "c=3; Secure"]
    );
}

#[test]
fn response_hop_headers_are_removed() {
    let reply = Reply::ok()
        .header("Connection", "X-Upstream-Hop")
        .header("X-Upstream-Hop", "1")
        .header("Keep-Alive", "timeout=5")
        .header("Proxy-Authenticate", "Basic realm=upstream")
        .header("X-Abp-Kept", "yes");
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(response.header("x-upstream-hop"), None);
    assert_eq!(response.header("keep-alive"), None);
    assert_eq!(response.header("proxy-authenticate"), None);
    assert_eq!(response.header("x-abp-kept"), Some("yes"));
}

#[test]
fn redirect_is_returned_not_followed() {
    let elsewhere = RecordingUpstream::ok();
    let location = format!("http://127.0.0.1:{}/landing", elsewhere.address().port());
    let upstream = RecordingUpstream::replying(Reply::status(302).header("Location", &location));
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/orders/pay/42", proxy.url())]);

    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some(location.as_str()));
    assert_eq!(elsewhere.connections(), 0, "the redirect was followed");
}

#[test]
fn upstream_error_status_passes_through() {
    let body = r#"{"error":{"code":null,"message":"Mobile number already exists"}}"#;
    let reply = Reply::json(403, body).header("_AbpErrorFormat", "true");
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/app/customer", proxy.url())]);

    assert_eq!(response.status, 403);
    assert_eq!(response.header("_abperrorformat"), Some("true"));
    assert_eq!(response.text(), body);
}

#[test]
fn head_response_has_no_body() {
    let upstream = RecordingUpstream::start(|request| match request.method.as_str() {
        "HEAD" => Reply::status(200)
            .header("Content-Length", "1234")
            .headers_only(),
        _ => Reply::status(200).body("after head"),
    });
    let proxy = ProxyProcess::start(&upstream.url());
    let address = proxy.address();

    let pipelined = format!(
        "HEAD /api/public/products HTTP/1.1\r\nHost: {address}\r\n\r\n\
         GET /api/public/products HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_http(address, pipelined.as_bytes());

    let (head, rest) = parse_response(&answer, true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("1234"));
    let (next, _) = parse_response(rest, false);
    assert_eq!(
        next.text(),
        "after head",
        "bytes followed the HEAD response"
    );
}

#[test]
fn no_content_responses_have_no_body() {
    let upstream = RecordingUpstream::start(|request| match request.target.as_str() {
        "/no-content" => Reply::status(204).headers_only(),
        "/not-modified" => Reply::status(304).header("ETag", "\"v1\"").headers_only(),
        _ => Reply::status(200).body("last"),
    });
    let proxy = ProxyProcess::start(&upstream.url());
    let address = proxy.address();

    let pipelined = format!(
        "PUT /no-content HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n\
         GET /not-modified HTTP/1.1\r\nHost: {address}\r\nIf-None-Match: \"v1\"\r\n\r\n\
         GET /last HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_http(address, pipelined.as_bytes());

    let (no_content, rest) = parse_response(&answer, false);
    assert_eq!(no_content.status, 204);
    assert_eq!(no_content.header("transfer-encoding"), None);
    let (not_modified, rest) = parse_response(rest, false);
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("etag"), Some("\"v1\""));
    let (last, _) = parse_response(rest, false);
    assert_eq!(last.text(), "last", "bytes followed a bodiless response");
}

// Failures of the proxy itself.

#[test]
fn unreachable_upstream_gets_502() {
    let upstream = format!("http://127.0.0.1:{}", closed_port());
    let proxy = ProxyProcess::start(&upstream);

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_proxy_error(&response, 502, "upstream_unreachable");
    let line = wait_access_lines(&proxy, 1).remove(0);
    assert_eq!(
        log_field(&line, "status").and_then(Value::as_u64),
        Some(502)
    );
}

/// Fills the accept queue of a listener that never accepts, so the kernel drops further
/// connection attempts and they hang. The returned streams keep the queue full.
fn listener_with_full_queue() -> (TcpListener, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let mut queued = Vec::new();
    while let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
        queued.push(stream);
        assert!(queued.len() < 100_000, "the accept queue never filled");
    }
    (listener, queued)
}

#[test]
fn connect_timeout_gets_502_naming_setting() {
    let (listener, _queued) = listener_with_full_queue();
    let upstream = format!("http://{}", listener.local_addr().expect("address"));
    let proxy = ProxyProcess::builder(&upstream)
        .env("REKAZ_PROXY__UPSTREAM__CONNECT_TIMEOUT", "1s")
        .start();

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_proxy_error(&response, 502, "upstream_unreachable");
    let message = response.json()["error"]["message"].to_string();
    assert!(message.contains("no connection within 1 s"), "{message}");
    assert!(message.contains("upstream.connect_timeout"), "{message}");
}

/// Sends one GET for `/api/public/branches` on `stream` and reads the response, whose body
/// the recording upstream ends with `}`.
fn get_on(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .write_all(b"GET /api/public/branches HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("sending a request");
    let mut response = Vec::new();
    read_until_contains(stream, &mut response, b"\r\n\r\n");
    read_until_contains(stream, &mut response, b"}");
    response
}

#[test]
fn parked_connection_serves_next_request() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LOG__LEVEL", "rekaz_proxy=debug")
        .start();
    let mut stream = TcpStream::connect(proxy.address()).expect("connecting");

    let first = get_on(&mut stream);
    proxy.wait_for_message("parked an idle client connection", PROCESS_TIMEOUT);
    let second = get_on(&mut stream);

    assert!(
        first.starts_with(b"HTTP/1.1 200"),
        "{}",
        first.escape_ascii()
    );
    assert!(
        second.starts_with(b"HTTP/1.1 200"),
        "{}",
        second.escape_ascii()
    );
    assert_eq!(upstream.wait_requests(2, PROCESS_TIMEOUT).len(), 2);
}

#[test]
fn upstream_closing_early_gets_502() {
    let upstream = RecordingUpstream::replying(Reply::close_without_answer());
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(response.status, 502);
    let body = response.json();
    assert!(body["error"]["code"].is_string(), "no error code in {body}");
}

#[test]
fn slow_upstream_gets_504() {
    let response = response_from_silent_upstream("REKAZ_PROXY__UPSTREAM__TIMEOUT");

    assert_proxy_error(&response, 504, "upstream_timeout");
    let message = response.json()["error"]["message"].to_string();
    assert!(message.contains("within 1 s"), "message: {message}");
    assert!(message.contains("upstream.timeout"), "message: {message}");
}

#[test]
fn slow_upload_spares_upstream_timeout() {
    let gate = Gate::new();
    let upstream_gate = gate.clone();
    let upstream = RecordingUpstream::start(move |request| match request.target.as_str() {
        "/api/public/held" => Reply::ok().hold_until(&upstream_gate),
        _ => Reply::ok(),
    });
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "1s")
        .start();
    let head = format!(
        "POST /api/public/customers HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n5\r\nfirst\r\n",
        proxy.address()
    );
    let mut upload = stalled_connection(&proxy, head.as_bytes());
    upstream.wait_body_in_progress(5, PROCESS_TIMEOUT);

    // A request sent after the upload started gets 504 once upstream.timeout has passed, so
    // by the time it gets its response the upload has paused for longer than that.
    let later = curl(&[&format!("{}/api/public/held", proxy.url())]);
    assert_proxy_error(&later, 504, "upstream_timeout");
    gate.open();
    // A proxy that counted the pause against Rekaz has already responded and closed, so this
    // write may fail.
    let _ = upload.write_all(b"4\r\nlast\r\n0\r\n\r\n");

    let answer = read_until_closed(&mut upload);
    let (response, _) = parse_response(&answer, false);
    assert_eq!(response.status, 200, "the slow upload was blamed on Rekaz");
    let uploaded = upstream
        .requests()
        .into_iter()
        .find(|request| request.target == "/api/public/customers")
        .expect("the upload reached upstream");
    assert_eq!(uploaded.body, b"firstlast");
}

#[test]
fn oversized_body_gets_413() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__MAX_REQUEST_BODY_BYTES", "1000")
        .start();

    let url = format!("{}/api/public/customers", proxy.url());
    let body = "x".repeat(1001);
    let response = curl(&["--data-binary", &body, &url]);

    assert_proxy_error(&response, 413, "body_too_large");
    assert_eq!(upstream.connections(), 0, "the body reached upstream");
    let line = wait_access_lines(&proxy, 1).remove(0);
    assert_eq!(
        log_field(&line, "status").and_then(Value::as_u64),
        Some(413)
    );
}

#[test]
fn oversized_chunked_body_gets_413() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__MAX_REQUEST_BODY_BYTES", "1000")
        .start();

    let chunk = "y".repeat(600);
    let body = format!("258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n");
    let headers = [("Transfer-Encoding", "chunked")];
    let response = raw_request(
        proxy.address(),
        "POST",
        "/api/public/customers",
        &headers,
        body.as_bytes(),
    );

    assert_proxy_error(&response, 413, "body_too_large");
    assert!(
        upstream.requests().is_empty(),
        "a whole body reached upstream"
    );
}

// Logs.

#[test]
fn access_log_line_per_exchange() {
    let upstream = RecordingUpstream::start(|request| match request.method.as_str() {
        "POST" => Reply::json(201, r#"{"id":"c-1"}"#),
        "DELETE" => Reply::status(404),
        _ => Reply::ok(),
    });
    let proxy = ProxyProcess::start(&upstream.url());
    let base = proxy.url();

    curl(&[&format!("{base}/api/public/branches")]);
    let created = curl(&[
        "--data-binary",
        "{}",
        &format!("{base}/api/public/customers?mobileNumber=0501234567&skipCount=0"),
    ]);
    curl(&["-X", "DELETE", &format!("{base}/api/public/gone")]);

    let lines = wait_access_lines(&proxy, 3);
    let paths: Vec<&str> = lines
        .iter()
        .filter_map(|line| log_field(line, "path").and_then(Value::as_str))
        .collect();
    assert_eq!(paths.len(), 3, "access lines: {lines:?}");
    for path in [
        "/api/public/branches",
        "/api/public/customers?mobileNumber&skipCount",
        "/api/public/gone",
    ] {
        let count = paths.iter().filter(|logged| **logged == path).count();
        assert_eq!(count, 1, "access lines for {path}");
    }

    let post = lines
        .iter()
        .find(|line| log_field(line, "method").and_then(Value::as_str) == Some("POST"))
        .expect("an access line for the POST");
    assert_eq!(log_field(post, "status").and_then(Value::as_u64), Some(201));
    let bytes = created.body.len() as u64;
    assert_eq!(
        log_field(post, "bytes").and_then(Value::as_u64),
        Some(bytes)
    );
    assert!(
        log_field(post, "upstream_ms").is_some_and(Value::is_u64),
        "no upstream_ms in {post}"
    );
}

#[test]
fn query_values_stay_out_of_logs() {
    let upstream = RecordingUpstream::start(|request| {
        if request.target.contains("unauthorized") {
            Reply::status(401)
        } else {
            Reply::ok()
        }
    });
    let proxy = ProxyProcess::start(&upstream.url());
    let base = proxy.url();
    let query = "mobileNumber=0501234567";

    curl(&[&format!("{base}/api/public/customers?{query}")]);
    curl(&[&format!("{base}/api/public/unauthorized?{query}")]);
    raw_get(proxy.address(), &format!("/api/../customers?{query}"));
    wait_access_lines(&proxy, 3);

    for line in proxy.logs() {
        assert!(!line.contains("0501234567"), "query value logged: {line}");
    }
}

#[test]
fn unauthorized_logs_masked_key_diagnosis() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .start();

    let response = curl(&[&format!("{}/api/public/customers", proxy.url())]);
    assert_eq!(response.status, 401);

    let diagnosis = proxy.wait_for_log(
        |line| log_target(line).is_some_and(|target| target.starts_with("rekaz_proxy::diagnosis")),
        PROCESS_TIMEOUT,
    );
    let text = diagnosis.to_string();
    let level = diagnosis["level"].as_str().unwrap_or_default();
    assert!(["WARN", "ERROR"].contains(&level), "level {level}: {text}");
    assert!(text.contains("env:REKAZ_API_SECRET"), "no source: {text}");
    assert!(text.contains(&API_KEY[..4]), "no key hint: {text}");
    assert!(
        !text.contains(&API_KEY[..5]),
        "more than 4 key characters: {text}"
    );
}

// Shutdown.

#[test]
fn sigterm_finishes_request_in_flight() {
    let gate = Gate::new();
    let upstream =
        RecordingUpstream::replying(Reply::json(200, r#"{"slow":true}"#).hold_until(&gate));
    let mut proxy = ProxyProcess::start(&upstream.url());
    let url = format!("{}/api/public/products", proxy.url());
    let client = std::thread::spawn(move || curl(&[&url]));
    upstream.wait_requests(1, PROCESS_TIMEOUT);

    proxy.signal("TERM");
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while TcpStream::connect(proxy.address()).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::yield_now();
    }
    gate.open();

    let response = client.join().expect("the client thread");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), r#"{"slow":true}"#);
    let status = proxy.wait_exit(PROCESS_TIMEOUT);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_when_idle_exits_zero() {
    let upstream = RecordingUpstream::ok();
    let mut proxy = ProxyProcess::start(&upstream.url());
    curl(&[&format!("{}/api/public/branches", proxy.url())]);

    proxy.signal("TERM");

    assert_eq!(proxy.wait_exit(PROCESS_TIMEOUT).code(), Some(0));
}

// Clients.

#[test]
fn python_client_round_trip() {
    let upstream = RecordingUpstream::replying(Reply::json(201, r#"{"id":"c-7"}"#));
    let proxy = ProxyProcess::start(&upstream.url());

    let response = python_http_client(
        "POST",
        &format!("{}/api/public/customers", proxy.url()),
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ],
        Some(br#"{"name":"Sara"}"#),
    );

    assert_eq!(response.status, 201);
    assert_eq!(response.json()["id"], "c-7");
    let request = upstream.single_request();
    assert_eq!(request.body, br#"{"name":"Sara"}"#);
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[test]
fn python_client_passes_sandbox_cdn() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    // http.client sends no User-Agent, which Rekaz's CDN rejects; the proxy adds its own.
    let response = python_http_client(
        "GET",
        &format!("{}/api/public/branches", proxy.url()),
        &[("Accept", "application/json")],
        None,
    );

    assert_eq!(response.status, 200, "body: {}", response.text());
    assert!(response.json().is_array(), "branches: {}", response.text());
}

#[test]
fn curl_client_reaches_sandbox() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    let response = curl(&[
        "-H",
        "Accept: application/json",
        &format!("{}/api/public/products?maxResultCount=5", proxy.url()),
    ]);

    assert_eq!(response.status, 200, "body: {}", response.text());
    assert!(
        response.json()["items"].is_array(),
        "products: {}",
        response.text()
    );
}

#[test]
fn keep_alive_serves_several_requests() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let address = proxy.address();

    let pipelined = format!(
        "GET /one HTTP/1.1\r\nHost: {address}\r\n\r\n\
         GET /two HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_http(address, pipelined.as_bytes());

    let (first, rest) = parse_response(&answer, false);
    let (second, _) = parse_response(rest, false);
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    let targets: Vec<String> = upstream
        .wait_requests(2, PROCESS_TIMEOUT)
        .into_iter()
        .map(|request| request.target)
        .collect();
    assert_eq!(targets, ["/one", "/two"]);
}

#[test]
fn read_timeout_spares_slow_headers() {
    // Rekaz sends its response after 2 s: past read_timeout, but within timeout, which alone bounds the
    // wait for response headers.
    let upstream = RecordingUpstream::replying(Reply::ok().delay(Duration::from_secs(2)));
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "20s")
        .env("REKAZ_PROXY__UPSTREAM__READ_TIMEOUT", "1s")
        .start();

    let response = curl(&[&format!("{}/api/public/products", proxy.url())]);

    assert_eq!(response.status, 200, "body: {}", response.text());
    assert_eq!(response.text(), r#"{"ok":true}"#);
}

#[test]
fn read_timeout_cuts_stalled_body() {
    let gate = Gate::new();
    let reply = Reply::status(200)
        .body("first part|second part")
        .pause_body_after(11, &gate);
    let upstream = RecordingUpstream::replying(reply);
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__UPSTREAM__READ_TIMEOUT", "1s")
        .start();

    let output = curl_output(&[&format!("{}/api/public/products", proxy.url())]);
    let line = wait_access_lines(&proxy, 1).remove(0);
    gate.open();

    assert!(!output.status.success(), "curl got the whole body");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "first part|");
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(
        log_field(&line, "status").and_then(Value::as_u64),
        Some(200)
    );
    assert_eq!(
        log_field(&line, "body").and_then(Value::as_str),
        Some("Failed")
    );
    let error = log_field(&line, "error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(error.contains("upstream.read_timeout"), "{line}");
}

#[test]
fn trace_and_connect_never_forwarded() {
    // An upstream that echoes TRACE, as RFC 9110 describes: forwarding it would hand the
    // injected Authorization back to the client.
    let upstream = RecordingUpstream::start(|request| {
        Reply::status(200)
            .header("Content-Type", "message/http")
            .body(request.head.clone())
    });
    let proxy = ProxyProcess::start(&upstream.url());

    // ASP.NET may read a method without regard to case, so every spelling is rejected.
    for method in ["TRACE", "trace", "Trace", "TRACK", "track"] {
        let response = raw_request(proxy.address(), method, "/api/public/branches", &[], b"");
        assert_proxy_error(&response, 405, "method_not_allowed");
    }
    for method in ["CONNECT", "connect"] {
        let response = raw_request(proxy.address(), method, "platform.rekaz.io:443", &[], b"");
        assert_proxy_error(&response, 405, "method_not_allowed");
    }
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
}

#[test]
fn absolute_form_target_stays_on_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let target = "http://localhost:1/api/public/branches?skipCount=0";
    let response = raw_request(proxy.address(), "GET", target, &[], b"");

    assert_eq!(response.status, 200);
    let request = upstream.single_request();
    assert_eq!(request.target, "/api/public/branches?skipCount=0");
    assert_eq!(
        request.header_values("host"),
        [upstream.address().to_string()]
    );
}

#[test]
fn sigterm_closes_idle_keep_alive() {
    let upstream = RecordingUpstream::ok();
    let mut proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__SHUTDOWN_GRACE", "60s")
        .start();
    let mut idle = TcpStream::connect(proxy.address()).expect("connecting to the proxy");
    idle.set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("setting a read timeout");
    let request = format!("GET /one HTTP/1.1\r\nHost: {}\r\n\r\n", proxy.address());
    idle.write_all(request.as_bytes()).expect("sending");
    let mut answer = Vec::new();
    read_until_contains(&mut idle, &mut answer, b"{\"ok\":true}");

    proxy.signal("TERM");

    // An idle connection must not hold the exit for the 60 s grace.
    let status = proxy.wait_exit(PROCESS_TIMEOUT);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn shutdown_grace_bounds_exit() {
    let gate = Gate::new();
    let upstream = RecordingUpstream::replying(Reply::ok().hold_until(&gate));
    let mut proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__SHUTDOWN_GRACE", "1s")
        .start();
    let url = format!("{}/api/public/products", proxy.url());
    let client = std::thread::spawn(move || curl_output(&[&url]));
    upstream.wait_requests(1, PROCESS_TIMEOUT);

    proxy.signal("TERM");
    let status = proxy.wait_exit(Duration::from_secs(10));
    gate.open();

    assert_eq!(status.code(), Some(0));
    let output = client.join().expect("the client thread");
    assert!(!output.status.success(), "the held request completed");
}

#[test]
fn regenerated_key_gets_401() {
    let sandbox = InProcessSandbox::start();
    let proxy = ProxyProcess::start(&sandbox.url());
    let url = format!("{}/api/public/branches", proxy.url());
    let before = curl(&[&url]);

    sandbox.sandbox().regenerate_key(
        secrecy::SecretString::from("rkz_test_key_regenerated"),
        secrecy::SecretString::from("RegeneratedHarnessSecret3kW8"),
    );
    let after = curl(&[&url]);

    assert_eq!(before.status, 200, "body: {}", before.text());
    assert_eq!(after.status, 401, "body: {}", after.text());
}

#[test]
fn rebinding_host_never_reaches_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/branches", proxy.url());
    let rebound = curl(&["-H", "Host: rebind.attacker.test:8080", &url]);
    let absolute = raw_request(
        proxy.address(),
        "GET",
        "http://rebind.attacker.test/api/public/branches",
        &[],
        b"",
    );

    assert_proxy_error(&rebound, 403, "host_not_allowed");
    assert_proxy_error(&absolute, 403, "host_not_allowed");
    assert!(rebound.text().contains("guard.allowed_hosts"));
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
}

#[test]
fn allowed_host_reaches_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env(
            "REKAZ_PROXY__GUARD__ALLOWED_HOSTS",
            "rekaz-proxy, rekaz-proxy.default.svc",
        )
        .start();

    let url = format!("{}/api/public/branches", proxy.url());
    let response = curl(&["-H", "Host: rekaz-proxy.default.svc:8080", &url]);

    assert_eq!(response.status, 200);
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn browser_origin_is_rejected() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env(
            "REKAZ_PROXY__GUARD__ALLOWED_ORIGINS",
            "http://localhost:3000",
        )
        .start();
    let url = format!("{}/api/public/branches", proxy.url());

    let foreign = curl(&["-H", "Origin: http://localhost:5173", &url]);
    let listed = curl(&["-H", "Origin: http://localhost:3000", &url]);

    assert_proxy_error(&foreign, 403, "origin_not_allowed");
    assert_eq!(listed.status, 200);
    assert_eq!(
        upstream.connections(),
        1,
        "only the listed origin reached upstream"
    );
    let diagnosis = proxy.wait_for_log(
        |line| line["cause"] == "origin_not_allowed",
        PROCESS_TIMEOUT,
    );
    assert_eq!(diagnosis["level"], "WARN");
}

#[test]
fn cross_site_page_request_is_rejected() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let url = format!("{}/api/public/customers", proxy.url());

    // A browser loading `<img src>` for a page of another site sends no Origin header.
    let image = curl(&[
        "-H",
        "Sec-Fetch-Site: cross-site",
        "-H",
        "Sec-Fetch-Mode: no-cors",
        "-H",
        "Sec-Fetch-Dest: image",
        &url,
    ]);
    // A URL typed into the address bar by the person at the machine.
    let typed = curl(&[
        "-H",
        "Sec-Fetch-Site: none",
        "-H",
        "Sec-Fetch-Mode: navigate",
        &url,
    ]);

    assert_proxy_error(&image, 403, "cross_site_request");
    assert_eq!(typed.status, 200);
    assert_eq!(
        upstream.connections(),
        1,
        "the cross-site request reached upstream"
    );
    let diagnosis = proxy.wait_for_log(
        |line| line["cause"] == "cross_site_request",
        PROCESS_TIMEOUT,
    );
    assert_eq!(diagnosis["level"], "WARN");
}

#[test]
fn backslash_paths_never_reach_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&format!("{}/base", upstream.url()));

    for target in [
        "/api/public/customers\\..\\branches",
        "/api/x\\..\\..\\..\\etc",
        "/api/%5C..%5Cbranches",
        "/api/a%2F..%2Fb",
    ] {
        let response = raw_request(proxy.address(), "GET", target, &[], b"");
        assert_proxy_error(&response, 400, "invalid_path");
    }
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
}

#[test]
fn unparsable_target_is_logged() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let quoted = raw_request(
        proxy.address(),
        "GET",
        "/api/public/customers?name=\"Abdulaziz\"",
        &[],
        b"",
    );
    let latin1 = b"GET /api/public/customers?name=Jos\xe9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                   Connection: close\r\n\r\n";
    let (not_utf8, _) = parse_response(&raw_http(proxy.address(), latin1), false);

    assert_eq!(quoted.status, 400);
    assert_eq!(not_utf8.status, 400);
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
    let is_rejection =
        |line: &Value| log_message(line).is_some_and(|message| message.contains("percent-encoded"));
    let lines = proxy.wait_for_logs(is_rejection, 2, PROCESS_TIMEOUT);
    for line in lines {
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["error"], "invalid URI", "{line}");
        let peer = line["peer"].as_str().unwrap_or_default();
        assert!(peer.starts_with("127.0.0.1:"), "{line}");
    }
}

#[test]
fn tenant_query_parameter_never_reaches_upstream() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let url = format!("{}/api/public/customers?__tenant=other", proxy.url());
    let response = curl(&[&url]);

    assert_proxy_error(&response, 400, "invalid_path");
    assert!(response.text().contains("__tenant"));
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
}

// Client connections: timeouts, limits and shutdown.

/// Returns the number of connections waiting in the accept queue of the loopback listener on
/// `port`, from the `rx_queue` column of `/proc/net/tcp`, which for a listening socket is its
/// accept backlog.
fn accept_queue_length(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("reading /proc/net/tcp");
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        // Columns: slot, local address, remote address, state (0A is LISTEN), queues.
        if columns.get(1) != Some(&local.as_str()) || columns.get(3) != Some(&"0A") {
            return None;
        }
        let (_, received) = columns.get(4)?.split_once(':')?;
        u64::from_str_radix(received, 16).ok()
    })
}

/// Waits until the proxy has accepted every connection made to `port`.
fn wait_accepted(port: u16) {
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while accept_queue_length(port) != Some(0) {
        assert!(
            Instant::now() < deadline,
            "connections still wait to be accepted"
        );
        std::thread::yield_now();
    }
}

#[test]
fn stalled_request_headers_are_closed() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "1s")
        .start();

    let mut silent = stalled_connection(&proxy, b"");
    let mut partial = stalled_connection(&proxy, b"GET /api/public/branches HTTP/1.1\r\nHost: ");

    assert_eq!(read_until_closed(&mut silent), b"");
    assert_eq!(read_until_closed(&mut partial), b"");
    let closed = proxy.wait_for_logs(
        |line| {
            log_message(line)
                .is_some_and(|message| message.contains("sent no complete request headers within"))
        },
        2,
        PROCESS_TIMEOUT,
    );
    assert_eq!(closed[0]["level"], "INFO");
    assert_eq!(upstream.connections(), 0, "a request reached upstream");
}

#[test]
fn idle_keep_alive_is_closed() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "60s")
        .env("REKAZ_PROXY__LIMITS__CLIENT_IDLE_TIMEOUT", "1s")
        .start();
    let request = format!("GET /one HTTP/1.1\r\nHost: {}\r\n\r\n", proxy.address());
    let mut stream = stalled_connection(&proxy, request.as_bytes());

    let answer = read_until_closed(&mut stream);

    let (response, rest) = parse_response(&answer, false);
    assert_eq!(response.status, 200);
    assert!(rest.is_empty(), "bytes after the response");
}

#[test]
fn sigterm_closes_half_sent_request() {
    let upstream = RecordingUpstream::ok();
    let mut proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__SHUTDOWN_GRACE", "60s")
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "60s")
        .start();
    let mut partial = stalled_connection(&proxy, b"GET /api/public/branches HTTP/1.1\r\n");
    wait_accepted(proxy.address().port());

    proxy.signal("TERM");

    // Neither the 60 s header timeout nor the 60 s grace may hold the exit.
    let status = proxy.wait_exit(PROCESS_TIMEOUT);
    assert_eq!(status.code(), Some(0));
    assert_eq!(read_until_closed(&mut partial), b"");
    assert!(
        !proxy.logs_contain("still in flight after the grace period"),
        "a request was reported in flight"
    );
}

#[test]
fn connection_limit_queues_new_clients() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__MAX_CONNECTIONS", "2")
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "60s")
        .start();
    let first = stalled_connection(&proxy, b"GET / HTTP/1.1\r\n");
    let _second = stalled_connection(&proxy, b"GET / HTTP/1.1\r\n");
    let warning = proxy.wait_for_log(
        |line| {
            log_message(line)
                .is_some_and(|message| message.contains("reached limits.max_connections"))
        },
        PROCESS_TIMEOUT,
    );

    let url = format!("{}/api/public/branches", proxy.url());
    let client = std::thread::spawn(move || curl(&[&url]));
    // The third connection waits in the kernel's queue, not accepted by the proxy.
    let port = proxy.address().port();
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while accept_queue_length(port) != Some(1) {
        assert!(
            Instant::now() < deadline,
            "the third connection never waited in the accept queue"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        upstream.connections(),
        0,
        "the queued request reached upstream"
    );
    drop(first);
    let response = client.join().expect("the client thread");

    assert_eq!(warning["level"], "WARN");
    assert_eq!(
        log_field(&warning, "max_connections").and_then(Value::as_u64),
        Some(2)
    );
    assert_eq!(response.status, 200);
}

#[test]
fn accept_failure_warns_once_and_recovers() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "60s")
        .start();
    let pid = proxy.pid().to_string();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("listing the proxy's descriptors")
        .count();
    let set_limit = |limit: usize| {
        let status = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={limit}:")])
            .status()
            .expect("running prlimit");
        assert!(status.success(), "prlimit --nofile={limit} failed");
    };

    // Room for two more descriptors, then "Too many open files" for the rest. Only the soft
    // limit changes, which needs no privilege.
    set_limit(open + 2);
    let stalled: Vec<TcpStream> = (0..6).map(|_| stalled_connection(&proxy, b"")).collect();
    let is_accept_warning = |line: &Value| {
        log_message(line)
            .is_some_and(|message| message.starts_with("accepting a client connection failed"))
    };
    let warning = proxy.wait_for_log(is_accept_warning, PROCESS_TIMEOUT);
    set_limit(open + 64);
    proxy.wait_for_message("accepting client connections works again", PROCESS_TIMEOUT);
    drop(stalled);
    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(warning["level"], "WARN");
    let error = log_field(&warning, "error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(error.contains("Too many open files"), "{warning}");
    let warnings = proxy
        .json_logs()
        .into_iter()
        .filter(is_accept_warning)
        .count();
    assert_eq!(warnings, 1, "one warning per streak of failures");
    assert_eq!(response.status, 200);
}

#[test]
fn open_file_limit_keeps_admin_answering() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT", "60s")
        .open_file_limit(128)
        .start();
    let ready = proxy.wait_for_message("rekaz-proxy listening", PROCESS_TIMEOUT);
    let admin = log_field(&ready, "admin")
        .and_then(Value::as_str)
        .expect("the ready line names the admin address")
        .to_owned();

    // More stalled connections than descriptors: without a cap they would use them all up.
    let _stalled: Vec<TcpStream> = (0..140).map(|_| stalled_connection(&proxy, b"")).collect();
    let readiness = curl(&[&format!("http://{admin}/readyz")]);
    let lowered = proxy.wait_for_log(
        |line| log_field(line, "open_file_limit").is_some(),
        PROCESS_TIMEOUT,
    );

    assert_eq!(lowered["level"], "WARN");
    assert_eq!(
        log_field(&lowered, "serving").and_then(Value::as_u64),
        Some(64)
    );
    assert_eq!(readiness.status, 200);
}

#[test]
fn http2_prior_knowledge_is_served() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let output = curl_output(&[
        "--http2-prior-knowledge",
        "--output",
        "/dev/null",
        "--write-out",
        "%{http_version} %{http_code}",
        &format!("{}/api/public/branches", proxy.url()),
    ]);

    assert!(output.status.success(), "curl failed: {output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "2 200");
    assert_eq!(upstream.single_request().target, "/api/public/branches");
}

#[test]
fn peer_address_reaches_diagnosis() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let response = curl(&[
        "-H",
        "Authorization: Bearer client-token",
        &format!("{}/api/public/branches", proxy.url()),
    ]);

    assert_eq!(response.status, 200);
    let stripped = proxy.wait_for_log(
        |line| line.to_string().contains("with User-Agent"),
        PROCESS_TIMEOUT,
    );
    assert!(
        stripped.to_string().contains("127.0.0.1 with User-Agent"),
        "{stripped}"
    );
}

// Request bodies the client does not finish.

#[test]
fn client_dropping_streamed_body_is_its_fault() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let head = format!(
        "POST /api/public/customers HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n\
         6\r\nfirst \r\n",
        proxy.address()
    );
    let stream = stalled_connection(&proxy, head.as_bytes());
    upstream.wait_body_in_progress(6, PROCESS_TIMEOUT);

    drop(stream);

    let line = wait_access_lines(&proxy, 1).remove(0);
    assert_eq!(
        log_field(&line, "status").and_then(Value::as_u64),
        Some(400),
        "{line}"
    );
    let error = log_field(&line, "error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(error.contains("request body from the client"), "{line}");
    let diagnosis = proxy.wait_for_log(|line| line["cause"].is_string(), PROCESS_TIMEOUT);
    assert_eq!(diagnosis["cause"], "client_body_failed", "{diagnosis}");
}

#[test]
fn stalled_request_body_gets_400() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::builder(&upstream.url())
        .env("REKAZ_PROXY__LIMITS__CLIENT_IDLE_TIMEOUT", "1s")
        .start();
    let head = format!(
        "POST /api/public/customers HTTP/1.1\r\nHost: {}\r\nContent-Length: 10\r\n\
         Connection: close\r\n\r\nhalf.",
        proxy.address()
    );
    let mut stream = stalled_connection(&proxy, head.as_bytes());

    let answer = read_until_closed(&mut stream);

    let (response, _) = parse_response(&answer, false);
    assert_proxy_error(&response, 400, "client_body_failed");
    let message = response.json()["error"]["message"].to_string();
    assert!(message.contains("limits.client_idle_timeout"), "{message}");
    assert_eq!(
        upstream.connections(),
        0,
        "the partial body reached upstream"
    );
}

// What the logs may contain.

#[test]
fn absolute_form_query_value_never_logged() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    for target in [
        "http://localhost?mobile=0512345678",
        "http://127.0.0.1?mobile=0512345678",
        "http://127.0.0.1/api/../x?mobile=0512345678",
    ] {
        let response = raw_request(proxy.address(), "GET", target, &[], b"");
        assert!(
            !response.text().contains("0512345678"),
            "{target}: {}",
            response.text()
        );
    }

    wait_access_lines(&proxy, 3);
    let logs = proxy.logs().join("\n");
    assert!(
        !logs.contains("0512345678"),
        "a query value was logged:\n{logs}"
    );
}

#[test]
fn binary_correlation_id_is_logged_escaped() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());
    let address = proxy.address();
    let mut request =
        format!("GET /binary HTTP/1.1\r\nHost: {address}\r\nX-Correlation-Id: caf").into_bytes();
    request.extend_from_slice(b"\xe9-1\r\nConnection: close\r\n\r\n");
    raw_http(address, &request);
    let long_id = "a".repeat(300);
    let long = [("X-Correlation-Id", long_id.as_str())];
    raw_request(address, "GET", "/long", &long, b"");

    let lines = wait_access_lines(&proxy, 2);
    let logged = |path: &str| {
        let line = lines
            .iter()
            .find(|line| log_field(line, "path").and_then(Value::as_str) == Some(path))
            .unwrap_or_else(|| panic!("no access line for {path}"));
        log_field(line, "correlation_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };

    assert_eq!(logged("/binary"), "caf\\xe9-1");
    let long_logged = logged("/long");
    assert!(long_logged.starts_with("aaaa"), "{long_logged}");
    assert!(
        long_logged.len() <= 131,
        "{} bytes logged",
        long_logged.len()
    );
}
