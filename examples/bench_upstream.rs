//! A small, fast upstream for the benchmark in `bench/`. It replaces Rekaz so that the proxies
//! under test, not the upstream, set the pace.
//!
//! It serves plain HTTP and HTTPS (HTTP/1.1 with keep-alive) on loopback and prints the bound
//! addresses as one line, `http=IP:PORT https=IP:PORT`, once both listen. Routes:
//!
//! - `GET /bytes/N`: N zero bytes, streamed in 64 KiB chunks with a `Content-Length`.
//! - `GET /headers`: the request headers it received, as a JSON object of lists.
//! - any other `GET`: a fixed JSON body shaped like a Rekaz product list.
//! - any request with a body: the body is read and dropped chunk by chunk, the fixed JSON body
//!   is returned, and `X-Bench-Received-Bytes` tells how many bytes arrived.
//!
//! When `BENCH_EXPECT_AUTHORIZATION` and `BENCH_EXPECT_TENANT` are set, every route except
//! `/headers` answers 403 unless the request carries exactly one `Authorization` and exactly
//! one `__tenant` with those values, so a load run counts a proxy that skips the injection or
//! forwards the client's own header as errors.
//!
//! Run: `cargo run --release --example bench_upstream -- --cert cert.pem --key key.pem`.

use std::convert::Infallible;
use std::error::Error;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use futures_util::stream;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;
type BoxError = Box<dyn Error + Send + Sync>;

/// The fixed response body: a one-item page shaped like Rekaz's `/api/public/products`.
const FIXED_JSON: &str = r#"{"items":[{"id":"3a1f3638-e6dc-d864-4aa7-df60cdbb1146","name":"Monthly membership","nameAr":"اشتراك شهري","type":"Subscription","prices":[{"id":"7c0e1a52-2f4b-4c1e-9a57-0b3c2d9e8f10","amount":250.0,"currency":"SAR"}]}],"totalCount":1}"#;

/// Size of one chunk of a `/bytes/N` download.
const DOWNLOAD_CHUNK_BYTES: usize = 64 * 1024;

/// The response header that reports how many request body bytes arrived.
const RECEIVED_BYTES: &str = "x-bench-received-bytes";

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Fast local upstream for the rekaz-proxy benchmark")]
struct Options {
    /// Plain HTTP listen address; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    http: SocketAddr,

    /// HTTPS listen address; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    https: SocketAddr,

    /// PEM certificate chain for HTTPS; `bench/bench.py` makes one signed by a CA of its own.
    #[arg(long)]
    cert: PathBuf,

    /// PEM private key of `--cert`.
    #[arg(long)]
    key: PathBuf,

    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The header values every forwarded request must carry, when checking is on.
#[derive(Debug, Clone)]
struct Expected {
    authorization: HeaderValue,
    tenant: HeaderValue,
}

fn main() -> Result<(), BoxError> {
    let options = Options::parse();
    let expected = read_expected()?.map(Arc::new);
    let tls = TlsAcceptor::from(Arc::new(tls_config(&options.cert, &options.key)?));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()?
        .block_on(serve(options, tls, expected))
}

async fn serve(
    options: Options,
    tls: TlsAcceptor,
    expected: Option<Arc<Expected>>,
) -> Result<(), BoxError> {
    let plain = TcpListener::bind(options.http).await?;
    let secure = TcpListener::bind(options.https).await?;
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "http={} https={}",
        plain.local_addr()?,
        secure.local_addr()?
    )?;
    stdout.flush()?;
    drop(stdout);

    let plain_task = tokio::spawn(accept_plain(plain, expected.clone()));
    accept_tls(secure, tls, expected).await;
    plain_task.await?;
    Ok(())
}

/// Reads `BENCH_EXPECT_AUTHORIZATION` and `BENCH_EXPECT_TENANT`: both set, or neither.
fn read_expected() -> Result<Option<Expected>, BoxError> {
    let authorization = std::env::var("BENCH_EXPECT_AUTHORIZATION").ok();
    let tenant = std::env::var("BENCH_EXPECT_TENANT").ok();
    match (authorization, tenant) {
        (Some(authorization), Some(tenant)) => Ok(Some(Expected {
            authorization: HeaderValue::from_str(&authorization)?,
            tenant: HeaderValue::from_str(&tenant)?,
        })),
        (None, None) => Ok(None),
        _ => Err("set both BENCH_EXPECT_AUTHORIZATION and BENCH_EXPECT_TENANT, or neither".into()),
    }
}

fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, BoxError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| format!("cannot read certificate {}: {error}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("cannot read private key {}: {error}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

async fn accept_plain(listener: TcpListener, expected: Option<Arc<Expected>>) {
    loop {
        let Some(stream) = accept(&listener).await else {
            continue;
        };
        tokio::spawn(serve_connection(stream, expected.clone()));
    }
}

async fn accept_tls(listener: TcpListener, tls: TlsAcceptor, expected: Option<Arc<Expected>>) {
    loop {
        let Some(stream) = accept(&listener).await else {
            continue;
        };
        let tls = tls.clone();
        let expected = expected.clone();
        tokio::spawn(async move {
            match tls.accept(stream).await {
                Ok(stream) => serve_connection(stream, expected).await,
                Err(error) => eprintln!("bench_upstream: TLS handshake failed: {error}"),
            }
        });
    }
}

async fn accept(listener: &TcpListener) -> Option<TcpStream> {
    match listener.accept().await {
        Ok((stream, _)) => {
            // Sends each small response at once instead of waiting for Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            Some(stream)
        }
        Err(error) => {
            // Failures such as running out of file descriptors are often transient.
            eprintln!("bench_upstream: accept failed: {error}");
            tokio::task::yield_now().await;
            None
        }
    }
}

async fn serve_connection<S>(stream: S, expected: Option<Arc<Expected>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| respond(request, expected.clone()));
    // A client closing its keep-alive connection is the normal end; errors are not reported.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn respond(
    request: Request<Incoming>,
    expected: Option<Arc<Expected>>,
) -> Result<Response<ResponseBody>, hyper::Error> {
    let path = request.uri().path();
    if path == "/headers" {
        return Ok(echo_headers(request.headers()));
    }
    if let Some(problem) = expected.and_then(|expected| check_injected(&expected, &request)) {
        return Ok(fixed(StatusCode::FORBIDDEN, "text/plain", problem.into()));
    }
    if request.method() == Method::GET {
        if let Some(length) = path.strip_prefix("/bytes/") {
            return Ok(download(length));
        }
    }
    let received = drain(request.into_body()).await?;
    let mut response = fixed(StatusCode::OK, "application/json", FIXED_JSON.into());
    response
        .headers_mut()
        .insert(RECEIVED_BYTES, HeaderValue::from(received));
    Ok(response)
}

/// Returns why the request lacks the injected credentials, or `None` when they are right.
fn check_injected(expected: &Expected, request: &Request<Incoming>) -> Option<&'static str> {
    let headers = request.headers();
    if !is_single(
        headers,
        header::AUTHORIZATION.as_str(),
        &expected.authorization,
    ) {
        return Some("expected exactly one Authorization with the injected value\n");
    }
    if !is_single(headers, "__tenant", &expected.tenant) {
        return Some("expected exactly one __tenant with the injected value\n");
    }
    None
}

fn is_single(headers: &HeaderMap, name: &str, expected: &HeaderValue) -> bool {
    let mut values = headers.get_all(name).iter();
    values.next() == Some(expected) && values.next().is_none()
}

/// Reads the body to its end, dropping each chunk, and returns its length in bytes.
async fn drain(mut body: Incoming) -> Result<u64, hyper::Error> {
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            received += data.len() as u64;
        }
    }
    Ok(received)
}

fn download(length: &str) -> Response<ResponseBody> {
    let Ok(total) = length.parse::<u64>() else {
        let message = "expected /bytes/N with N a byte count\n";
        return fixed(StatusCode::BAD_REQUEST, "text/plain", message.into());
    };
    let chunk = Bytes::from(vec![0u8; DOWNLOAD_CHUNK_BYTES]);
    let chunks = stream::unfold(total, move |remaining| {
        let chunk = chunk.clone();
        async move {
            if remaining == 0 {
                return None;
            }
            let size = remaining.min(DOWNLOAD_CHUNK_BYTES as u64);
            let frame = Frame::data(chunk.slice(..size as usize));
            Some((Ok::<_, Infallible>(frame), remaining - size))
        }
    });
    let mut response = Response::new(StreamBody::new(chunks).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

fn echo_headers(headers: &HeaderMap) -> Response<ResponseBody> {
    let mut object = serde_json::Map::new();
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .into_owned()
                    .into()
            })
            .collect();
        object.insert(name.as_str().to_owned(), serde_json::Value::Array(values));
    }
    let body = serde_json::Value::Object(object).to_string();
    fixed(StatusCode::OK, "application/json", body.into())
}

fn fixed(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(body).boxed_unsync());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
