//! Text lines of whole events, written through a subscriber as in production.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::Level;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use super::{Clock, TextFields, TextFormat};

/// 2026-01-01T00:00:00.123456Z, the time of every line written here.
const TIME: &str = "2026-01-01T00:00:00.123456Z";

fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_767_225_600, 123_456_789)
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        fixed_time()
    }
}

/// tracing-subscriber's timer for the reference lines, writing [`TIME`].
struct FixedTimer;

impl FormatTime for FixedTimer {
    fn format_time(&self, writer: &mut Writer<'_>) -> std::fmt::Result {
        writer.write_str(TIME)
    }
}

/// Output bytes shared between the subscriber's writers and the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Returns what our text format writes for the events `emit` logs.
fn text_output(colour: bool, emit: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_writer(move || writer.clone())
        .fmt_fields(TextFields)
        .event_format(TextFormat::with_clock(FixedClock, colour))
        .finish();
    tracing::subscriber::with_default(subscriber, emit);
    captured.text()
}

/// Returns what tracing-subscriber's default format writes for the events `emit` logs.
fn reference_output(emit: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_writer(move || writer.clone())
        .with_timer(FixedTimer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, emit);
    captured.text()
}

#[derive(Debug, thiserror::Error)]
#[error("connect failed")]
struct ConnectError(#[source] io::Error);

fn log_access_line() {
    let error: Option<&str> = None;
    tracing::info!(
        target: "rekaz_proxy::access",
        method = %http::Method::GET,
        path = %"/api/public/customers?mobileNumber&skipCount",
        status = 200u16,
        upstream_ms = 12u64,
        total_ms = 13u64,
        bytes = 244u64,
        correlation_id = "5db2c3a4-9f0e-4d55-8a43-1c2b3d4e5f60",
        replayed = false,
        body = "Complete",
        error,
        "exchange"
    );
}

fn log_assorted_events() {
    log_access_line();
    tracing::warn!(
        target: "rekaz_proxy::access",
        status = 504u16,
        upstream_ms = None::<u64>,
        error = %"upstream timed out after 30s",
        "exchange failed in the proxy"
    );
    tracing::error!(
        count = -3i64,
        ratio = 0.5f64,
        big = u128::MAX,
        "{} arguments",
        2
    );
    tracing::debug!(text = "two words", quote = "say \"hi\" \\o/", option = ?Some("x"));
    tracing::trace!(r#type = "raw identifier", empty = "", "trace");
    tracing::info!(arabic = "مرحبا", accent = %"café", "unicode");
    let source = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
    let error = ConnectError(source);
    tracing::warn!(
        error = &error as &(dyn std::error::Error + 'static),
        "with sources"
    );
    let request = tracing::info_span!("request", id = 7u64, kind = "get");
    let _request = request.enter();
    let empty = tracing::info_span!("empty");
    let _empty = empty.enter();
    tracing::info!("inside two spans");
}

fn log_record_event() {
    let cause = "reset";
    let emitted = tracing_log::format_trace(
        &log::Record::builder()
            .level(log::Level::Warn)
            .target("hyper_util::client")
            .module_path_static(Some("hyper_util::client::legacy"))
            .file_static(Some("src/client/legacy/client.rs"))
            .line(Some(42))
            .args(format_args!("connection error: {cause}"))
            .build(),
    );
    emitted.unwrap();
}

#[test]
fn access_line_is_exact() {
    let output = text_output(false, log_access_line);

    let expected = format!(
        "{TIME}  INFO rekaz_proxy::access: exchange method=GET \
         path=/api/public/customers?mobileNumber&skipCount status=200 upstream_ms=12 \
         total_ms=13 bytes=244 correlation_id=\"5db2c3a4-9f0e-4d55-8a43-1c2b3d4e5f60\" \
         replayed=false body=\"Complete\"\n"
    );
    assert_eq!(output, expected);
}

#[test]
fn lines_match_tracing_subscriber_format() {
    let ours = text_output(false, log_assorted_events);
    let reference = reference_output(log_assorted_events);

    assert_eq!(ours.lines().count(), 8, "{ours}");
    for (line, expected) in ours.lines().zip(reference.lines()) {
        assert_eq!(line, expected);
    }
    assert_eq!(ours, reference);
}

#[test]
fn log_record_shows_its_level_and_target() {
    let ours = text_output(false, log_record_event);
    let reference = reference_output(log_record_event);

    assert_eq!(
        ours,
        format!("{TIME}  WARN hyper_util::client: connection error: reset\n")
    );
    assert_eq!(ours, reference);
}

#[test]
fn colour_marks_only_the_level() {
    let output = text_output(true, || tracing::warn!(key = "value", "coloured"));

    let expected = format!(
        "{TIME} \x1b[33m WARN\x1b[0m {}: coloured key=\"value\"\n",
        module_path!()
    );
    assert_eq!(output, expected);
}

#[test]
fn quoted_strings_use_debug_escapes() {
    let values = [
        "line one\nline two",
        "carriage\rreturn",
        "tab\there",
        "escape \x1b[31mred",
        "next line \u{85} (C1)",
        "separator \u{2028} here",
        "bell \x07 and nul \0",
        "delete \x7f",
        "quote \" and backslash \\",
        "مرحبا \u{7f}",
    ];

    for value in values {
        let output = text_output(false, || tracing::info!(value, "quoted"));

        let expected = format!("{TIME}  INFO {}: quoted value={value:?}\n", module_path!());
        assert_eq!(output, expected, "value {value:?}");
    }
}

#[test]
fn display_values_escape_control_characters() {
    let cases = [
        ("line one\nline two", "line one\\nline two"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("tab\there", "tab\\there"),
        ("escape \x1b[31mred", "escape \\x1b[31mred"),
        ("delete \x7f", "delete \\x7f"),
        ("next line \u{85}", "next line \\u{85}"),
        (
            "separators \u{2028}\u{2029}",
            "separators \\u{2028}\\u{2029}",
        ),
        ("café مرحبا ✓", "café مرحبا ✓"),
    ];

    for (value, expected) in cases {
        let output = text_output(false, || tracing::info!(error = %value, "display"));

        let expected = format!(
            "{TIME}  INFO {}: display error={expected}\n",
            module_path!()
        );
        assert_eq!(output, expected, "value {value:?}");
    }
}

#[test]
fn message_escapes_control_characters() {
    let output = text_output(false, || {
        tracing::warn!("first\nsecond\r\n{}", "\x1b]0;title\x07")
    });

    let expected = format!(
        "{TIME}  WARN {}: first\\nsecond\\r\\n\\x1b]0;title\\x07\n",
        module_path!()
    );
    assert_eq!(output, expected);
}

#[test]
fn every_event_is_one_line() {
    let output = text_output(false, || {
        let hostile = "a\nb\rc\u{85}d\u{2028}e\u{2029}f\x0bg\x0ch";
        tracing::info!(text = hostile, shown = %hostile, debug = ?hostile, "{hostile}");
        let error = ConnectError(io::Error::other(hostile));
        tracing::warn!(
            error = &error as &(dyn std::error::Error + 'static),
            "{hostile}"
        );
        let span = tracing::info_span!("span", text = hostile, shown = %hostile);
        let _span = span.enter();
        tracing::info!("in span");
    });

    assert_eq!(output.matches('\n').count(), 3, "{output}");
    assert!(!output.contains('\r'), "{output}");
    assert!(!output.contains('\u{85}'), "{output}");
    assert!(!output.contains('\u{2028}'), "{output}");
    assert!(!output.contains('\u{2029}'), "{output}");
}
