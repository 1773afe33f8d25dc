//! Sets up `tracing` output: text or JSON lines on standard output.
//!
//! JSON lines come from tracing-subscriber's JSON format. Text lines come from [`TextFormat`]
//! and [`TextFields`], which write the layout of tracing-subscriber's default format with a
//! timestamp cached per second and without its styling code, because every exchange's access
//! line goes through them.

mod clock;
mod escape;
mod fields;
#[cfg(test)]
mod tests;
mod text;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

pub use clock::{Clock, SystemClock};
pub use fields::TextFields;
pub use text::TextFormat;

/// Installs the global subscriber. Call once, before anything logs.
///
/// `RUST_LOG`, when set, replaces the configured level so one run can be made more verbose.
pub fn init(settings: &LogSettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directive| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let result = match settings.format {
        LogFormat::Text => builder
            .fmt_fields(TextFields)
            .event_format(TextFormat::new(colour_stdout()))
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}

/// Returns whether text lines get coloured levels: when standard output is a terminal and
/// `NO_COLOR` is unset or empty.
fn colour_stdout() -> bool {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stdout().is_terminal() && !no_colour
}
