//! Real clients for the proxy: curl, Python's `http.client`, and raw TCP for request targets
//! that those clients would normalise. Every response read here is checked for secrets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::process::PROCESS_TIMEOUT;
use super::secrets::{assert_no_secret, assert_no_secret_bytes, redact};

/// A response as a client saw it.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header fields in the order received.
    pub headers: Vec<(String, String)>,
    /// Body bytes after transfer decoding.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Returns the first value of a header, matching the name without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Returns every value of a header, in the order received.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values_of(&self.headers, name)
    }

    /// Returns the body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON, and panics showing the redacted body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "response body is not JSON ({error}): {}",
                redact(&self.text())
            )
        })
    }

    fn check_secrets(&self, client: &str) {
        for (name, value) in &self.headers {
            assert_no_secret(&format!("{client} response header {name}"), value);
        }
        assert_no_secret_bytes(&format!("{client} response body"), &self.body);
    }
}

/// Returns the values of header `name` in `headers`, matching the name without regard to case.
pub fn values_of<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .collect()
}

/// Asserts that `response` is the proxy's own JSON error `{"error":{"code","message"}}` with
/// the given status and code.
pub fn assert_proxy_error(response: &HttpResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "status of {}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type is {content_type:?}"
    );
    let body = response.json();
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "error message is empty in {body}");
}

/// Runs curl with `args` and returns its raw output, never through a configured proxy and
/// ignoring `~/.curlrc`.
pub fn curl_output(args: &[&str]) -> Output {
    let max_time = PROCESS_TIMEOUT.as_secs().to_string();
    Command::new("curl")
        .args(["-q", "--silent", "--show-error", "--noproxy", "*"])
        .args(["--max-time", &max_time])
        .args(args)
        .env_remove("CURL_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run curl (is it installed?): {error}"))
}

/// Sends a request with curl; `args` are extra curl arguments and end with the URL.
///
/// Panics when curl fails, such as when the connection is refused.
pub fn curl(args: &[&str]) -> HttpResponse {
    let directory = tempfile::tempdir().expect("creating a temporary directory");
    let headers_path = directory.path().join("headers");
    let body_path = directory.path().join("body");
    let headers_arg = headers_path.to_string_lossy().into_owned();
    let body_arg = body_path.to_string_lossy().into_owned();

    let mut all_args = vec!["--dump-header", &headers_arg, "--output", &body_arg];
    all_args.extend(["--write-out", "%{http_code}"]);
    all_args.extend_from_slice(args);
    let output = curl_output(&all_args);
    assert!(
        output.status.success(),
        "curl {args:?} failed ({}): {}",
        output.status,
        redact(&String::from_utf8_lossy(&output.stderr))
    );

    let head = std::fs::read_to_string(&headers_path).unwrap_or_default();
    let response = HttpResponse {
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("curl wrote the status code"),
        headers: last_header_block(&head),
        body: std::fs::read(&body_path).unwrap_or_default(),
    };
    response.check_secrets("curl");
    response
}

/// Parses the last header block of a `--dump-header` file, skipping `100 Continue` blocks.
fn last_header_block(head: &str) -> Vec<(String, String)> {
    let block = head
        .split("\r\n\r\n")
        .filter(|block| !block.trim().is_empty())
        .last()
        .unwrap_or_default();
    block
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

const PYTHON_CLIENT: &str = r#"
import base64, http.client, json, sys, urllib.parse
request = json.load(sys.stdin)
url = urllib.parse.urlsplit(request["url"])
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=request["timeout"])
target = url.path + ("?" + url.query if url.query else "")
body = base64.b64decode(request["body"]) if request["body"] is not None else None
connection.request(request["method"], target, body=body, headers=dict(request["headers"]))
response = connection.getresponse()
payload = response.read()
json.dump({
    "status": response.status,
    "headers": response.getheaders(),
    "body": base64.b64encode(payload).decode(),
}, sys.stdout)
"#;

/// Sends one request with Python's `http.client`, as a Python service would.
pub fn python_http_client(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> HttpResponse {
    let request = json!({
        "method": method,
        "url": url,
        "headers": headers,
        "body": body.map(|bytes| STANDARD.encode(bytes)),
        "timeout": PROCESS_TIMEOUT.as_secs(),
    });
    let mut child = Command::new("python3")
        .args(["-c", PYTHON_CLIENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run python3: {error}"));
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(request.to_string().as_bytes())
        .expect("writing the request to python3");
    let output = child.wait_with_output().expect("waiting for python3");
    assert!(
        output.status.success(),
        "python3 http.client failed ({}): {}",
        output.status,
        redact(&String::from_utf8_lossy(&output.stderr))
    );

    let answer: Value = serde_json::from_slice(&output.stdout).expect("python3 printed JSON");
    let headers = answer["headers"]
        .as_array()
        .expect("headers list")
        .iter()
        .map(|pair| {
            let name = pair[0].as_str().unwrap_or_default().to_owned();
            (name, pair[1].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let response = HttpResponse {
        status: answer["status"].as_u64().expect("status") as u16,
        headers,
        body: STANDARD
            .decode(answer["body"].as_str().expect("body"))
            .expect("base64 body"),
    };
    response.check_secrets("python http.client");
    response
}

/// Writes `request` bytes to `address` as is and reads until the server closes the
/// connection. Send `Connection: close` so it does.
pub fn raw_http(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).expect("connecting to the proxy");
    stream
        .set_read_timeout(Some(PROCESS_TIMEOUT))
        .expect("setting a read timeout");
    stream.write_all(request).expect("writing the raw request");
    let mut response = Vec::new();
    if let Err(error) = stream.read_to_end(&mut response) {
        panic!(
            "reading the raw response failed after {} bytes: {error}",
            response.len()
        );
    }
    assert_no_secret_bytes("raw HTTP response", &response);
    response
}

/// Sends `GET <target>` over raw TCP, so the target reaches the proxy byte for byte.
pub fn raw_get(address: SocketAddr, target: &str) -> HttpResponse {
    raw_request(address, "GET", target, &[], b"")
}

/// Sends one request over raw TCP with exactly the given header fields, after `Host`.
///
/// Adds `Connection: close` unless `headers` has a `Connection` field, which then must name
/// `close`, and `Content-Length` when `body` is not empty and `headers` sets no framing.
pub fn raw_request(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let has = |wanted: &str| {
        headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
    };
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has("connection") {
        request.push_str("Connection: close\r\n");
    }
    if !body.is_empty() && !has("content-length") && !has("transfer-encoding") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");

    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let answer = raw_http(address, &bytes);
    let (response, _) = parse_response(&answer, method == "HEAD");
    response
}

/// Parses one HTTP/1.1 response from the start of `bytes` and returns it with the bytes that
/// follow it. Set `head_request` for the response to a `HEAD` request, which has no body.
///
/// The body ends by `Content-Length`, by chunked coding, or at the end of `bytes`.
pub fn parse_response(bytes: &[u8], head_request: bool) -> (HttpResponse, &[u8]) {
    let end = find(bytes, b"\r\n\r\n").unwrap_or_else(|| {
        panic!(
            "no complete response head in {:?}",
            redact(&String::from_utf8_lossy(bytes))
        )
    });
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let rest = &bytes[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };

    let no_body = head_request || status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        return (response, rest);
    }
    if response
        .header("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        let (body, after) = dechunk(rest);
        response.body = body;
        return (response, after);
    }
    match response.header("content-length") {
        Some(length) => {
            let length: usize = length.parse().expect("numeric Content-Length");
            let length = length.min(rest.len());
            response.body = rest[..length].to_vec();
            (response, &rest[length..])
        }
        None => {
            response.body = rest.to_vec();
            (response, &[])
        }
    }
}

fn dechunk(mut bytes: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(bytes, b"\r\n") else {
            return (body, &[]);
        };
        let size_text = String::from_utf8_lossy(&bytes[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).expect("hexadecimal chunk size");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            let trailer_end = find(bytes, b"\r\n").map_or(bytes.len(), |index| index + 2);
            return (body, &bytes[trailer_end..]);
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
