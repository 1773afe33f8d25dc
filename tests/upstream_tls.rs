//! The leg to Rekaz over real TLS: an extra CA bundle, certificate errors, and HTTPS_PROXY.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use common::{ProcessBuilder, ProxyProcess, API_KEY, PROCESS_TIMEOUT};
use serde_json::Value;

/// A Python helper process from `tests/support`, killed on drop.
struct Helper {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Helper {
    fn start(script: &str, args: &[&Path]) -> Helper {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support")
            .join(script);
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let first = lines
            .recv_timeout(PROCESS_TIMEOUT)
            .expect("helper prints its port");
        let port = first.trim().parse().expect("first line is a port");
        Helper { child, lines, port }
    }

    /// The next line the helper printed, waiting at most [`PROCESS_TIMEOUT`].
    fn next_line(&self) -> Option<String> {
        self.lines.recv_timeout(PROCESS_TIMEOUT).ok()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a server certificate for 127.0.0.1 that it signed, made with the openssl
/// command. rustls rejects a CA certificate presented as the server's own, hence two.
struct Certificate {
    _directory: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(args: &[&str], directory: &Path) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(directory)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?} failed");
}

fn test_certificate() -> Certificate {
    let directory = tempfile::tempdir().expect("temporary directory");
    let dir = directory.path();
    let one_day = ["-days", "1"];
    openssl(
        &[
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes"][..],
            &one_day,
            &[
                "-subj",
                "/CN=test CA",
                "-keyout",
                "ca-key.pem",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    openssl(
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-extfile",
                "server.ext",
                "-out",
                "cert.pem",
            ][..],
            &one_day,
        ]
        .concat(),
        dir,
    );
    Certificate {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        _directory: directory,
    }
}

fn get(proxy: &ProxyProcess, path: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .arg(format!("{}{path}", proxy.url()))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    common::assert_no_secret("response body", &text);
    let (body, status) = text.rsplit_once('\n').expect("curl printed the status");
    (status.trim().parse().expect("status code"), body.to_owned())
}

#[test]
fn ca_bundle_makes_private_upstream_trusted() {
    let certificate = test_certificate();
    let upstream = Helper::start("tls_upstream.py", &[&certificate.cert, &certificate.key]);
    let url = format!("https://127.0.0.1:{}", upstream.port);
    let proxy = ProcessBuilder::proxy(&url)
        .env(
            "REKAZ_PROXY__UPSTREAM__CA_BUNDLE",
            certificate.ca.display().to_string(),
        )
        .start();

    let (status, body) = get(&proxy, "/api/public/branches?x=1");
    assert_eq!(status, 200, "body: {body}");
    let seen: Value = serde_json::from_str(&body).expect("upstream echoes JSON");
    assert_eq!(seen["path"], "/api/public/branches?x=1");
    assert_eq!(seen["host"], format!("127.0.0.1:{}", upstream.port));
    assert_eq!(seen["tenant"], common::TENANT_ID);
    assert_eq!(seen["authorization_count"], 1);
    assert!(seen["user_agent"]
        .as_str()
        .unwrap_or("")
        .starts_with("rekaz-proxy/"));
}

#[test]
fn untrusted_certificate_gives_502() {
    let certificate = test_certificate();
    let upstream = Helper::start("tls_upstream.py", &[&certificate.cert, &certificate.key]);
    let proxy = ProxyProcess::start(&format!("https://127.0.0.1:{}", upstream.port));

    let (status, body) = get(&proxy, "/api/public/branches");
    assert_eq!(status, 502, "body: {body}");
    let error: Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(error["error"]["code"], "upstream_unreachable");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("certificate"),
        "message does not name the cause: {message}"
    );
    assert!(!message.contains(API_KEY));
}

#[test]
fn missing_ca_bundle_stops_start() {
    let mut process = ProcessBuilder::proxy("https://127.0.0.1:9")
        .env("REKAZ_PROXY__UPSTREAM__CA_BUNDLE", "/nonexistent/ca.pem")
        .spawn();
    let status = process.wait_exit(common::PROCESS_TIMEOUT);
    assert!(!status.success());
    let output = process.logs().join("\n");
    assert!(output.contains("upstream.ca_bundle"), "output: {output}");
    assert!(output.contains("/nonexistent/ca.pem"), "output: {output}");
}

#[test]
fn unparsable_proxy_variable_stops_start() {
    let values = [
        ("HTTPS_PROXY", "not a url"),
        ("https_proxy", "http://[::1"),
        ("HTTPS_PROXY", "ftp://127.0.0.1:21"),
        ("ALL_PROXY", " http://user:pa55word@127.0.0.1:3128"),
    ];
    for (name, value) in values {
        let mut process = ProcessBuilder::proxy("https://127.0.0.1:9")
            .env(name, value)
            .spawn();

        let status = process.wait_exit(common::PROCESS_TIMEOUT);

        let output = process.logs().join("\n");
        assert!(!status.success(), "{name}={value:?} was ignored: {output}");
        assert!(output.contains(name), "{name}={value:?}: {output}");
        assert!(!output.contains("pa55word"), "{name}={value:?}: {output}");
    }
}

#[test]
fn https_proxy_variable_is_honoured() {
    let certificate = test_certificate();
    let upstream = Helper::start("tls_upstream.py", &[&certificate.cert, &certificate.key]);
    let tunnel = Helper::start("connect_proxy.py", &[]);
    let proxy = ProcessBuilder::proxy(&format!("https://127.0.0.1:{}", upstream.port))
        .env(
            "REKAZ_PROXY__UPSTREAM__CA_BUNDLE",
            certificate.ca.display().to_string(),
        )
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", tunnel.port))
        .start();

    let (status, body) = get(&proxy, "/api/public/branches");
    assert_eq!(status, 200, "body: {body}");
    let request = tunnel.next_line().expect("the tunnel saw a request");
    assert_eq!(request, format!("CONNECT 127.0.0.1:{}", upstream.port));
}

#[test]
fn no_proxy_variable_bypasses_proxy() {
    let certificate = test_certificate();
    let upstream = Helper::start("tls_upstream.py", &[&certificate.cert, &certificate.key]);
    // Nothing listens on this port, so a request sent through the proxy would fail.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("address").port();
    drop(closed);
    let proxy = ProcessBuilder::proxy(&format!("https://127.0.0.1:{}", upstream.port))
        .env(
            "REKAZ_PROXY__UPSTREAM__CA_BUNDLE",
            certificate.ca.display().to_string(),
        )
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{closed_port}"))
        .env("NO_PROXY", "127.0.0.1")
        .start();

    let (status, body) = get(&proxy, "/api/public/branches");
    assert_eq!(status, 200, "body: {body}");
}

/// What the HTTP/2 upstream saw of one request.
#[derive(Debug)]
struct SeenRequest {
    version: http::Version,
    authority: Option<String>,
    authorization_count: usize,
}

/// Starts an HTTPS upstream on a thread of its own that offers only HTTP/2 by ALPN and
/// reports each request it serves. Returns its port.
fn start_http2_upstream(certificate: &Certificate) -> (u16, mpsc::Receiver<SeenRequest>) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(&certificate.cert)
        .expect("certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_file(&certificate.key).expect("key PEM");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port();
    let (sender, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(serve_http2(listener, acceptor, sender));
    });
    (port, seen)
}

async fn serve_http2(
    listener: std::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    seen: mpsc::Sender<SeenRequest>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let Ok(tls) = acceptor.accept(stream).await else {
            continue;
        };
        let seen = seen.clone();
        let service = hyper::service::service_fn(move |request: http::Request<_>| {
            let _ = seen.send(SeenRequest {
                version: request.version(),
                authority: request.uri().authority().map(|a| a.to_string()),
                authorization_count: request
                    .headers()
                    .get_all(http::header::AUTHORIZATION)
                    .iter()
                    .count(),
            });
            async {
                Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                    bytes::Bytes::from_static(b"{\"items\":[]}"),
                )))
            }
        });
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(tls);
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(io, service)
                .await;
        });
    }
}

#[test]
fn http2_upstream_is_spoken_when_offered() {
    let certificate = test_certificate();
    let (port, seen) = start_http2_upstream(&certificate);
    let proxy = ProcessBuilder::proxy(&format!("https://127.0.0.1:{port}"))
        .env(
            "REKAZ_PROXY__UPSTREAM__CA_BUNDLE",
            certificate.ca.display().to_string(),
        )
        .start();

    let (status, body) = get(&proxy, "/api/public/branches");
    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body, "{\"items\":[]}");
    let request = seen
        .recv_timeout(PROCESS_TIMEOUT)
        .expect("upstream request");
    assert_eq!(request.version, http::Version::HTTP_2);
    assert_eq!(
        request.authority.as_deref(),
        Some(&*format!("127.0.0.1:{port}"))
    );
    assert_eq!(request.authorization_count, 1);
}
