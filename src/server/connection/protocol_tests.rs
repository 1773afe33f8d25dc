use std::future::poll_fn;
use std::sync::Arc;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A connection served by [`Served`] on one side and a raw client on the other, both on
/// loopback.
struct Fixture {
    served: Served,
    protocols: Protocols,
    activity: Arc<Activity>,
    client: TcpStream,
}

impl Fixture {
    async fn connect() -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("reading the address");
        let client = TcpStream::connect(address).await.expect("connecting");
        let (stream, peer) = listener.accept().await.expect("accepting");
        let activity = Arc::new(Activity::default());
        let stream = ClientStream::new(stream, Arc::clone(&activity));
        let service = ConnectionService::new(router(), peer, Arc::clone(&activity));
        Fixture {
            served: Served::new(stream, service),
            protocols: Protocols::new(),
            activity,
            client,
        }
    }

    /// Sends `request` and returns the status line and body of the response.
    async fn exchange(&mut self, request: &[u8]) -> (String, String) {
        let Fixture {
            served,
            protocols,
            activity,
            client,
        } = self;
        let activity: &Activity = activity;
        let exchange = async {
            client.write_all(request).await.expect("sending");
            read_response(client).await
        };
        let connection = poll_fn(|context| served.poll(context, protocols, activity, true));
        tokio::select! {
            response = exchange => response,
            end = connection => panic!("the connection ended first: {end:?}"),
        }
    }

    /// Sends `bytes` and polls the connection until it has read them.
    async fn send_partial(&mut self, bytes: &[u8]) {
        let Fixture {
            served,
            protocols,
            activity,
            client,
        } = self;
        let activity: &Activity = activity;
        client.write_all(bytes).await.expect("sending");
        let connection = poll_fn(|context| served.poll(context, protocols, activity, true));
        let received = async {
            // Yields to the I/O driver until the connection has read the bytes.
            while !activity.is_request_started() {
                tokio::task::yield_now().await;
            }
        };
        tokio::select! {
            () = received => {}
            end = connection => panic!("the connection ended first: {end:?}"),
        }
    }

    /// Polls the connection until it ends, and returns how it ended.
    async fn run_to_end(&mut self) -> Result<(), ConnectionError> {
        let Fixture {
            served,
            protocols,
            activity,
            ..
        } = self;
        poll_fn(|context| served.poll(context, protocols, activity, true)).await
    }
}

fn router() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/read",
            post(|body: String| async move { body.len().to_string() }),
        )
        .route("/ignore", post(|| async { "ignored" }))
        .route("/early", post(respond_before_body_end))
        .route("/large", get(|| async { vec![b'x'; LARGE_BODY] }))
}

/// Responds at once and reads the request body to its end in another task, as a forwarded
/// upload does when Rekaz responds before the upload ends.
async fn respond_before_body_end(body: Body) -> &'static str {
    tokio::spawn(async move {
        let _ = axum::body::to_bytes(body, usize::MAX).await;
    });
    "early"
}

/// Reads one response framed by `Content-Length`, leaving the connection open.
async fn read_response(client: &mut TcpStream) -> (String, String) {
    let mut bytes = Vec::new();
    let mut buffer = [0; 1024];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let read = client
            .read(&mut buffer)
            .await
            .expect("reading the response");
        assert!(read > 0, "the connection closed before the response head");
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("a content-length header")
        .parse()
        .expect("a numeric content-length");
    while bytes.len() < head_end + length {
        let read = client.read(&mut buffer).await.expect("reading the body");
        assert!(read > 0, "the connection closed before the body ended");
        bytes.extend_from_slice(&buffer[..read]);
    }
    let status = head.lines().next().unwrap_or_default().to_owned();
    let body = String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned();
    (status, body)
}

/// Larger than loopback's socket buffers, so the response is still being written when hyper
/// has encoded all of it.
const LARGE_BODY: usize = 32 * 1024 * 1024;

const GET_OK: &[u8] = b"GET /ok HTTP/1.1\r\nHost: proxy\r\n\r\n";

#[tokio::test]
async fn idle_http1_connection_is_parked() {
    let mut fixture = Fixture::connect().await;

    let response = fixture.exchange(GET_OK).await;

    assert_eq!(response.0, "HTTP/1.1 200 OK");
    assert_eq!(response.1, "ok");
    assert!(fixture.served.is_parked(), "no hyper state kept while idle");
}

#[tokio::test]
async fn parked_connection_serves_next_requests() {
    let mut fixture = Fixture::connect().await;

    let first = fixture.exchange(GET_OK).await;
    let second = fixture.exchange(GET_OK).await;
    let third = fixture.exchange(GET_OK).await;

    assert_eq!(first.1, "ok");
    assert_eq!(second.1, "ok");
    assert_eq!(third.1, "ok");
    assert!(fixture.served.is_parked());
}

#[tokio::test]
async fn body_read_to_end_allows_parking() {
    let mut fixture = Fixture::connect().await;
    let request = b"POST /read HTTP/1.1\r\nHost: proxy\r\nContent-Length: 5\r\n\r\nhello";

    let response = fixture.exchange(request).await;

    assert_eq!(response.1, "5");
    assert!(fixture.served.is_parked());
}

#[tokio::test]
async fn response_written_in_parts_keeps_keep_alive() {
    let mut fixture = Fixture::connect().await;

    let large = fixture
        .exchange(b"GET /large HTTP/1.1\r\nHost: proxy\r\n\r\n")
        .await;
    let next = fixture.exchange(GET_OK).await;

    assert_eq!(large.1.len(), LARGE_BODY);
    assert_eq!(
        next.1, "ok",
        "the connection closed after the large response"
    );
    assert!(fixture.served.is_parked());
}

#[tokio::test]
async fn ignored_body_is_drained_before_next_request() {
    let mut fixture = Fixture::connect().await;
    let ignored = b"POST /ignore HTTP/1.1\r\nHost: proxy\r\nContent-Length: 5\r\n\r\nhello";

    let response = fixture.exchange(ignored).await;
    let next = fixture.exchange(GET_OK).await;

    assert_eq!(response.1, "ignored");
    assert_eq!(next.1, "ok", "the ignored body was taken for a request");
}

#[tokio::test]
async fn response_before_body_end_keeps_keep_alive() {
    let mut fixture = Fixture::connect().await;
    let head_and_start = b"POST /early HTTP/1.1\r\nHost: proxy\r\nContent-Length: 5\r\n\r\nhel";

    let response = fixture.exchange(head_and_start).await;
    let parked_before_body_end = fixture.served.is_parked();
    fixture.send_partial(b"lo").await;
    let next = fixture.exchange(GET_OK).await;

    assert_eq!(response.1, "early");
    assert!(
        !parked_before_body_end,
        "parked while the body was still arriving"
    );
    assert_eq!(
        next.1, "ok",
        "the connection closed after the early response"
    );
    assert!(fixture.served.is_parked());
}

#[tokio::test]
async fn pipelined_partial_request_survives_parking() {
    let mut fixture = Fixture::connect().await;
    let pipelined = b"GET /ok HTTP/1.1\r\nHost: proxy\r\n\r\nGET /ok HTTP/1.1\r\nHo";

    let first = fixture.exchange(pipelined).await;
    let parked_with_partial_request = fixture.served.is_parked();
    let second = fixture.exchange(b"st: proxy\r\n\r\n").await;

    assert_eq!(first.1, "ok");
    assert!(
        !parked_with_partial_request,
        "the partial request went back to hyper"
    );
    assert_eq!(second.1, "ok");
    assert!(fixture.served.is_parked());
}

#[tokio::test]
async fn detection_waits_for_more_than_one_byte() {
    let mut fixture = Fixture::connect().await;

    // "P" also starts HTTP/2's preface, so the protocol is known only at the next byte.
    fixture.send_partial(b"P").await;
    let detecting_after_one_byte = matches!(fixture.served, Served::Detecting { .. });
    let request = b"OST /read HTTP/1.1\r\nHost: proxy\r\nContent-Length: 2\r\n\r\nhi";
    let response = fixture.exchange(request).await;

    assert!(detecting_after_one_byte);
    assert_eq!(response.0, "HTTP/1.1 200 OK");
    assert_eq!(response.1, "2");
    assert!(!fixture.activity.is_http2());
}

#[tokio::test]
async fn client_closing_parked_connection_ends_it() {
    let mut fixture = Fixture::connect().await;
    fixture.exchange(GET_OK).await;

    fixture
        .client
        .shutdown()
        .await
        .expect("closing the client's side");
    let end = fixture.run_to_end().await;

    assert!(end.is_ok(), "{end:?}");
}

#[tokio::test]
async fn connection_closed_before_bytes_ends_quietly() {
    let mut fixture = Fixture::connect().await;

    fixture
        .client
        .shutdown()
        .await
        .expect("closing the client's side");
    let end = fixture.run_to_end().await;

    assert!(end.is_ok(), "{end:?}");
    assert!(matches!(fixture.served, Served::Ended));
}
