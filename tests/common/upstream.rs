//! `RecordingUpstream`: a raw HTTP/1.1 server on loopback that records each request's exact
//! bytes and sends scripted responses, so tests can assert on what the proxy put on the wire.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::client::values_of;
use super::process::PROCESS_TIMEOUT;
use super::watched::Watched;

/// One request as the upstream received it.
#[derive(Debug, Clone, Default)]
pub struct RecordedRequest {
    /// Method as sent, such as `GET`.
    pub method: String,
    /// Request target exactly as sent, such as `/api//a%2Fb?x=1&x=2`.
    pub target: String,
    /// Protocol version as sent, such as `HTTP/1.1`.
    pub version: String,
    /// Header fields in the order sent, names and values as on the wire.
    pub headers: Vec<(String, String)>,
    /// Request line and header block exactly as received, final blank line included.
    pub head: Vec<u8>,
    /// The body after removing chunked framing.
    pub body: Vec<u8>,
    /// The body bytes as on the wire, chunk framing included.
    pub raw_body: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Number of the connection it arrived on, counting from 1.
    pub connection: usize,
}

impl RecordedRequest {
    /// Returns the first value of a header, matching the name without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).into_iter().next()
    }

    /// Returns every value of a header, in the order sent.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values_of(&self.headers, name)
    }

    /// Returns whether a header was sent at all.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Returns the header names, lowercased, in the order sent.
    pub fn header_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect()
    }
}

/// A latch a test opens to let held responses continue.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Creates a closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate for every response waiting on it, now and later.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        changed.notify_all();
    }

    /// Waits until the gate opens or [`PROCESS_TIMEOUT`] passes, so a forgotten gate cannot
    /// hang the test run.
    fn wait(&self) {
        let (open, changed) = &*self.0;
        let guard = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = changed.wait_timeout_while(guard, PROCESS_TIMEOUT, |open| !*open);
    }
}

/// How the response body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length` added unless the scripted headers already have one.
    ContentLength,
    /// `Transfer-Encoding: chunked` with chunks of at most this many bytes.
    Chunked(usize),
    /// The scripted headers exactly, with no body and no framing header added.
    HeadersOnly,
}

/// A scripted response.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
    delay: Duration,
    hold: Option<Gate>,
    pause: Option<(usize, Gate)>,
    close_without_answer: bool,
}

impl Reply {
    /// Creates a response with `status`, no headers and an empty body framed by
    /// `Content-Length`.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            framing: Framing::ContentLength,
            delay: Duration::ZERO,
            hold: None,
            pause: None,
            close_without_answer: false,
        }
    }

    /// `200 OK` with the JSON body `{"ok":true}`.
    pub fn ok() -> Self {
        Self::json(200, r#"{"ok":true}"#)
    }

    /// Creates a JSON response.
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body)
    }

    /// Closes the connection after reading the request, without sending anything.
    pub fn close_without_answer() -> Self {
        Reply {
            close_without_answer: true,
            ..Self::status(0)
        }
    }

    /// Adds a header field; call again with the same name to repeat it.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the body with chunked transfer coding, `chunk_size` bytes per chunk.
    pub fn chunked(mut self, chunk_size: usize) -> Self {
        assert!(chunk_size > 0, "a chunk must hold at least one byte");
        self.framing = Framing::Chunked(chunk_size);
        self
    }

    /// Sends only the scripted headers and no body, adding no framing header, as for a
    /// `204`, a `304`, or a `HEAD` response with its own `Content-Length`.
    pub fn headers_only(mut self) -> Self {
        self.framing = Framing::HeadersOnly;
        self
    }

    /// Waits this long before sending anything, to imitate a slow Rekaz.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Waits until `gate` opens before sending anything.
    pub fn hold_until(mut self, gate: &Gate) -> Self {
        self.hold = Some(gate.clone());
        self
    }

    /// Sends the headers and the first `bytes` bytes of the body, then waits until `gate`
    /// opens before sending the rest.
    pub fn pause_body_after(mut self, bytes: usize, gate: &Gate) -> Self {
        self.pause = Some((bytes, gate.clone()));
        self
    }
}

type Handler = dyn Fn(&RecordedRequest) -> Reply + Send + Sync;

/// State shared by the accept loop, the connection threads and the test.
struct Shared {
    handler: Box<Handler>,
    recorded: Watched<Recorded>,
    connections: AtomicUsize,
    stopping: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

/// Requests recorded so far, and body bytes received of the request being read.
#[derive(Default)]
struct Recorded {
    requests: Vec<RecordedRequest>,
    body_bytes_in_progress: usize,
}

/// A loopback HTTP/1.1 server that records requests and sends scripted responses. It stops
/// accepting and closes every connection when dropped.
pub struct RecordingUpstream {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept_loop: Option<JoinHandle<()>>,
}

impl RecordingUpstream {
    /// Starts a server that builds each response with `handler`.
    pub fn start(handler: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            recorded: Watched::default(),
            connections: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_loop = std::thread::spawn(move || accept(listener, accept_shared));
        RecordingUpstream {
            address,
            shared,
            accept_loop: Some(accept_loop),
        }
    }

    /// Starts a server that sends `reply` to every request.
    pub fn replying(reply: Reply) -> Self {
        Self::start(move |_| reply.clone())
    }

    /// Starts a server that sends `replies` in order, then `500` with a plain-text body that
    /// reports that the script ran out.
    pub fn with_replies(replies: Vec<Reply>) -> Self {
        let queue = Mutex::new(VecDeque::from(replies));
        Self::start(move |_| {
            let next = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop_front();
            next.unwrap_or_else(|| Reply::status(500).body("recording upstream: script exhausted"))
        })
    }

    /// Starts a server that responds to every request with `200` and `{"ok":true}`.
    pub fn ok() -> Self {
        Self::replying(Reply::ok())
    }

    /// Returns the listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns the base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the requests recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded.lock().requests.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` requests were recorded and returns them all.
    ///
    /// Panics when fewer arrive within `timeout`.
    pub fn wait_requests(&self, count: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let found = self.shared.recorded.wait_until(timeout, |recorded| {
            (recorded.requests.len() >= count).then(|| recorded.requests.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "recording upstream got {} of {count} requests within {timeout:?}",
                self.requests().len()
            )
        })
    }

    /// Waits until at least `bytes` body bytes of a request still being received arrived.
    ///
    /// Panics when they do not arrive within `timeout`.
    pub fn wait_body_in_progress(&self, bytes: usize, timeout: Duration) {
        let arrived = self.shared.recorded.wait_until(timeout, |recorded| {
            (recorded.body_bytes_in_progress >= bytes).then_some(())
        });
        assert!(
            arrived.is_some(),
            "recording upstream did not receive {bytes} body bytes within {timeout:?}"
        );
    }

    /// Waits for exactly one request and returns it.
    pub fn single_request(&self) -> RecordedRequest {
        let requests = self.wait_requests(1, PROCESS_TIMEOUT);
        assert_eq!(requests.len(), 1, "expected one upstream request");
        requests.into_iter().next().expect("one request")
    }
}

impl Drop for RecordingUpstream {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then checks the flag and returns.
        let _ = TcpStream::connect(self.address);
        if let Some(accept_loop) = self.accept_loop.take() {
            let _ = accept_loop.join();
        }
        let streams = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for stream in streams.iter() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let number = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(clone) = stream.try_clone() {
            shared
                .streams
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(clone);
        }
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || serve_connection(stream, number, &shared));
    }
}

fn serve_connection(stream: TcpStream, number: usize, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(mut request) = read_request(&mut reader, shared) {
        request.connection = number;
        let reply = (shared.handler)(&request);
        let close = request
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let head_request = request.method == "HEAD";
        shared
            .recorded
            .update(|recorded| recorded.requests.push(request));

        if reply.close_without_answer {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
        if write_reply(&mut writer, &reply, head_request).is_err() || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads one request; `None` when the connection closed or sent something unparsable.
fn read_request(reader: &mut BufReader<TcpStream>, shared: &Shared) -> Option<RecordedRequest> {
    let mut request = RecordedRequest::default();
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    request.head.extend_from_slice(&line);
    let request_line = String::from_utf8_lossy(&line).trim_end().to_owned();
    let mut parts = request_line.splitn(3, ' ');
    request.method = parts.next()?.to_owned();
    request.target = parts.next()?.to_owned();
    request.version = parts.next()?.to_owned();

    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        request.head.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        request
            .headers
            .push((name.to_owned(), value.trim().to_owned()));
    }

    shared
        .recorded
        .update(|recorded| recorded.body_bytes_in_progress = 0);
    request.chunked = request
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if request.chunked {
        read_chunked_body(reader, &mut request, shared)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().ok()?;
        read_sized_body(reader, &mut request, length, shared)?;
    }
    Some(request)
}

fn note_progress(shared: &Shared, bytes: usize) {
    shared
        .recorded
        .update(|recorded| recorded.body_bytes_in_progress += bytes);
}

fn read_sized_body(
    reader: &mut BufReader<TcpStream>,
    request: &mut RecordedRequest,
    length: usize,
    shared: &Shared,
) -> Option<()> {
    let mut buffer = vec![0; 64 * 1024];
    while request.body.len() < length {
        let wanted = buffer.len().min(length - request.body.len());
        let read = reader.read(&mut buffer[..wanted]).ok()?;
        if read == 0 {
            return None;
        }
        request.body.extend_from_slice(&buffer[..read]);
        note_progress(shared, read);
    }
    request.raw_body = request.body.clone();
    Some(())
}

fn read_chunked_body(
    reader: &mut BufReader<TcpStream>,
    request: &mut RecordedRequest,
    shared: &Shared,
) -> Option<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        reader.read_until(b'\n', &mut line).ok()?;
        request.raw_body.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim_end().split(';').next()?.trim().to_owned();
        let size = usize::from_str_radix(&size_text, 16).ok()?;
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        request.raw_body.extend_from_slice(&chunk);
        request.body.extend_from_slice(&chunk[..size]);
        note_progress(shared, size);
    }
    // Trailer fields, if any, end with a blank line.
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        request.raw_body.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            return Some(());
        }
    }
}

fn write_reply(writer: &mut TcpStream, reply: &Reply, head_request: bool) -> std::io::Result<()> {
    if let Some(gate) = &reply.hold {
        gate.wait();
    }
    if !reply.delay.is_zero() {
        // The delay imitates a slow server; tests never rely on its length for ordering.
        std::thread::sleep(reply.delay);
    }

    writer.write_all(&response_head(reply))?;
    let send_body = !head_request && reply.framing != Framing::HeadersOnly;
    if send_body {
        let (first, rest) = match &reply.pause {
            Some((bytes, _)) => reply.body.split_at((*bytes).min(reply.body.len())),
            None => (&reply.body[..], &[][..]),
        };
        write_body_part(writer, reply.framing, first)?;
        writer.flush()?;
        if let Some((_, gate)) = &reply.pause {
            gate.wait();
        }
        write_body_part(writer, reply.framing, rest)?;
        if let Framing::Chunked(_) = reply.framing {
            writer.write_all(b"0\r\n\r\n")?;
        }
    }
    writer.flush()
}

fn response_head(reply: &Reply) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(reply.status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Scripted");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let has_length = reply
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    match reply.framing {
        Framing::ContentLength if !has_length => {
            head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
        }
        Framing::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn write_body_part(writer: &mut TcpStream, framing: Framing, bytes: &[u8]) -> std::io::Result<()> {
    match framing {
        Framing::Chunked(size) => {
            for chunk in bytes.chunks(size) {
                writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                writer.write_all(chunk)?;
                writer.write_all(b"\r\n")?;
            }
            Ok(())
        }
        _ => writer.write_all(bytes),
    }
}
