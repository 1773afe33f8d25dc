//! Field formatting of text log lines: the message, then `name=value` pairs separated by
//! spaces, as tracing-subscriber's default field formatter writes them.
//!
//! String fields other than the message are quoted with Rust's `Debug` escapes. The message and
//! other values are written with `Display` or `Debug` and their control characters escaped, so
//! no field value breaks the line.

use std::error::Error;
use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

use super::escape::{quotes_unchanged, Escaped};

/// Formats the fields of spans for text lines; [`super::TextFormat`] formats events' fields
/// itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut text = String::new();
        push_fields(&mut text, fields)?;
        writer.write_str(&text)
    }
}

/// Appends `fields` to `line`: the message first if there is one, then `name=value` pairs.
pub(super) fn push_fields(line: &mut String, fields: impl RecordFields) -> fmt::Result {
    let mut visitor = FieldWriter {
        line,
        first: true,
        result: Ok(()),
    };
    fields.record(&mut visitor);
    visitor.result
}

/// Appends each field it visits to a line. The first error stops further writing, which
/// only a failing `Display` or `Debug` implementation causes.
struct FieldWriter<'line> {
    line: &'line mut String,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_> {
    /// Appends `field`'s separator and name, then its value with `write_value`.
    fn record_with(&mut self, field: &Field, write_value: impl FnOnce(&mut String) -> fmt::Result) {
        let name = field.name();
        // tracing-log's fields carry a `log` record's metadata, which the line shows already.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        if !self.first {
            self.line.push(' ');
        }
        self.first = false;
        if name != "message" {
            self.line.push_str(field_name(name));
            self.line.push('=');
        }
        self.result = write_value(self.line);
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_with(field, |line| Escaped(line).write_str(value));
        } else {
            self.record_with(field, |line| write_quoted(line, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_with(field, |line| {
            line.push_str(itoa::Buffer::new().format(value));
            Ok(())
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_with(field, |line| {
            line.push_str(itoa::Buffer::new().format(value));
            Ok(())
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record_with(field, |line| {
            line.push_str(if value { "true" } else { "false" });
            Ok(())
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        self.record_with(field, |line| write_error(line, field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_with(field, |line| write!(Escaped(line), "{value:?}"));
    }
}

/// Returns a field's name as shown: without the `r#` of a raw identifier.
fn field_name(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// Appends `value` quoted, as `{:?}` writes it.
fn write_quoted(line: &mut String, value: &str) -> fmt::Result {
    if !quotes_unchanged(value) {
        return write!(line, "{value:?}");
    }
    line.push('"');
    line.push_str(value);
    line.push('"');
    Ok(())
}

/// Appends an error's message, then `name.sources=[...]` with the messages of its sources.
fn write_error(line: &mut String, field: &Field, error: &(dyn Error + 'static)) -> fmt::Result {
    write!(Escaped(line), "{error}")?;
    let Some(mut source) = error.source() else {
        return Ok(());
    };
    write!(line, " {}.sources=[", field_name(field.name()))?;
    loop {
        write!(Escaped(line), "{source}")?;
        match source.source() {
            Some(next) => {
                line.push_str(", ");
                source = next;
            }
            None => {
                line.push(']');
                return Ok(());
            }
        }
    }
}
