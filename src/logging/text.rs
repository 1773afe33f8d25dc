//! The text line format: `<timestamp> <level> <spans> <target>: <message> <fields>`, the
//! layout of tracing-subscriber's default (full) format, written without its styling code.

use std::cell::RefCell;
use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::clock::{push_timestamp, Clock, SystemClock};
use super::fields::push_fields;

/// Formats events as text lines.
#[derive(Debug, Clone)]
pub struct TextFormat<C = SystemClock> {
    clock: C,
    colour: bool,
}

impl TextFormat {
    /// Returns a format that reads the system clock and colours the level when `colour` is
    /// true.
    pub fn new(colour: bool) -> Self {
        TextFormat::with_clock(SystemClock, colour)
    }
}

impl<C: Clock> TextFormat<C> {
    /// Returns a format that takes each line's time from `clock`.
    pub fn with_clock(clock: C, colour: bool) -> Self {
        TextFormat { clock, colour }
    }
}

impl<S, N, C> FormatEvent<S, N> for TextFormat<C>
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
    C: Clock,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        LINE.with(|cell| {
            // A `Display` implementation that logs while its own event is formatted finds the
            // buffer borrowed, so its line gets a new one.
            let mut borrowed = cell.try_borrow_mut();
            let mut fresh = String::new();
            let line = match borrowed.as_deref_mut() {
                Ok(line) => line,
                Err(_) => &mut fresh,
            };
            line.clear();
            self.push_line(line, context, event)?;
            writer.write_str(line)
        })
    }
}

thread_local! {
    /// The line being formatted, kept so that its capacity is reused.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<C: Clock> TextFormat<C> {
    /// Appends the whole line for `event`, ending with a newline.
    fn push_line<S, N>(
        &self,
        line: &mut String,
        context: &FmtContext<'_, S, N>,
        event: &Event<'_>,
    ) -> fmt::Result
    where
        S: Subscriber + for<'lookup> LookupSpan<'lookup>,
        N: for<'writer> FormatFields<'writer> + 'static,
    {
        // Events from the `log` crate carry the record's level and target in their fields.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());

        push_timestamp(line, self.clock.now());
        line.push(' ');
        line.push_str(level_label(*metadata.level(), self.colour));
        line.push(' ');
        push_spans(line, context);
        line.push_str(metadata.target());
        line.push_str(": ");
        push_fields(line, event)?;
        line.push('\n');
        Ok(())
    }
}

/// Returns the level right-aligned to five characters, in its terminal colour when `colour`
/// is true (the colours of tracing-subscriber's format).
fn level_label(level: Level, colour: bool) -> &'static str {
    match (level, colour) {
        (Level::TRACE, false) => "TRACE",
        (Level::DEBUG, false) => "DEBUG",
        (Level::INFO, false) => " INFO",
        (Level::WARN, false) => " WARN",
        (Level::ERROR, false) => "ERROR",
        (Level::TRACE, true) => "\x1b[35mTRACE\x1b[0m",
        (Level::DEBUG, true) => "\x1b[34mDEBUG\x1b[0m",
        (Level::INFO, true) => "\x1b[32m INFO\x1b[0m",
        (Level::WARN, true) => "\x1b[33m WARN\x1b[0m",
        (Level::ERROR, true) => "\x1b[31mERROR\x1b[0m",
    }
}

/// Appends the spans the event is in, from the root: `name{fields}:` each, then a space.
fn push_spans<S, N>(line: &mut String, context: &FmtContext<'_, S, N>)
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    let Some(scope) = context.event_scope() else {
        return;
    };
    let mut any = false;
    for span in scope.from_root() {
        any = true;
        line.push_str(span.name());
        if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
            if !fields.is_empty() {
                line.push('{');
                line.push_str(fields);
                line.push('}');
            }
        }
        line.push(':');
    }
    if any {
        line.push(' ');
    }
}
