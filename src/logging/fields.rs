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

/// Formats the fields of events and spans for text lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = FieldWriter {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field it visits; the first error stops further writing.
struct FieldWriter<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_> {
    /// Writes `field`'s separator and name, then its value with `write_value`.
    fn record_with(
        &mut self,
        field: &Field,
        write_value: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
    ) {
        let name = field.name();
        // tracing-log's fields carry a `log` record's metadata, which the line shows already.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        self.result = self.write_field(name, write_value);
    }

    fn write_field(
        &mut self,
        name: &str,
        write_value: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
    ) -> fmt::Result {
        if !self.first {
            self.writer.write_char(' ')?;
        }
        self.first = false;
        if name != "message" {
            self.writer.write_str(field_name(name))?;
            self.writer.write_char('=')?;
        }
        write_value(&mut self.writer)
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_with(field, |writer| Escaped(writer).write_str(value));
        } else {
            self.record_with(field, |writer| write_quoted(writer, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_with(field, |writer| write_decimal(writer, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record_with(field, |writer| {
            if value < 0 {
                writer.write_char('-')?;
            }
            write_decimal(writer, value.unsigned_abs())
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record_with(field, |writer| {
            writer.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        self.record_with(field, |writer| write_error(writer, field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_with(field, |writer| write!(Escaped(writer), "{value:?}"));
    }
}

/// Returns a field's name as shown: without the `r#` of a raw identifier.
fn field_name(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// Writes `value` quoted, as `{:?}` does: printable ASCII as it is, and the standard escapes
/// for quotes, backslashes, control and other non-printable characters.
fn write_quoted(writer: &mut impl Write, value: &str) -> fmt::Result {
    let plain = value
        .bytes()
        .all(|byte| matches!(byte, b' '..=b'~') && byte != b'"' && byte != b'\\');
    if !plain {
        return write!(writer, "{value:?}");
    }
    writer.write_char('"')?;
    writer.write_str(value)?;
    writer.write_char('"')
}

/// Writes an error's message, then `name.sources=[...]` with the messages of its sources.
fn write_error(
    writer: &mut impl Write,
    field: &Field,
    error: &(dyn Error + 'static),
) -> fmt::Result {
    write!(Escaped(&mut *writer), "{error}")?;
    let Some(mut source) = error.source() else {
        return Ok(());
    };
    write!(writer, " {}.sources=[", field_name(field.name()))?;
    loop {
        write!(Escaped(&mut *writer), "{source}")?;
        match source.source() {
            Some(next) => {
                writer.write_str(", ")?;
                source = next;
            }
            None => return writer.write_char(']'),
        }
    }
}

/// Writes `value` in decimal.
fn write_decimal(writer: &mut impl Write, value: u64) -> fmt::Result {
    let mut digits = [b'0'; 20];
    let start = format_digits(value, &mut digits);
    writer.write_str(std::str::from_utf8(&digits[start..]).map_err(|_| fmt::Error)?)
}

/// Writes the decimal digits of `value` at the end of `digits` and returns the index of the
/// first one. The bytes before it stay as they are, so a buffer of `b'0'` pads with zeros.
/// Leading digits that do not fit are dropped.
pub(super) fn format_digits(mut value: u64, digits: &mut [u8]) -> usize {
    let mut start = digits.len();
    while start > 0 {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    start
}

/// Escapes the characters that would break a line or reach a terminal as a control sequence.
///
/// NOTE: backslashes pass unescaped, as in tracing-subscriber's format, so a value that
/// contained the two characters `\n` reads the same as one that contained a newline.
struct Escaped<W>(W);

impl<W: Write> Write for Escaped<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !text.bytes().any(may_start_escaped) {
            return self.0.write_str(text);
        }
        let mut plain_start = 0;
        for (index, character) in text.char_indices() {
            if is_escaped(character) {
                self.0.write_str(&text[plain_start..index])?;
                write_escape(&mut self.0, character)?;
                plain_start = index + character.len_utf8();
            }
        }
        self.0.write_str(&text[plain_start..])
    }
}

/// Returns whether `byte` may begin an escaped character: a C0 control, DEL, or the first
/// UTF-8 byte of a C1 control (`0xC2`) or of U+2028 and U+2029 (`0xE2`).
fn may_start_escaped(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7F || byte == 0xC2 || byte == 0xE2
}

/// Returns whether `character` is a control character or a Unicode line or paragraph separator.
fn is_escaped(character: char) -> bool {
    character.is_control() || matches!(character, '\u{2028}' | '\u{2029}')
}

/// Writes a newline, carriage return or tab as `\n`, `\r` or `\t`, other ASCII as `\xNN` and
/// the rest as `\u{N}`, all in lowercase hexadecimal.
fn write_escape(writer: &mut impl Write, character: char) -> fmt::Result {
    match character {
        '\n' => writer.write_str("\\n"),
        '\r' => writer.write_str("\\r"),
        '\t' => writer.write_str("\\t"),
        _ if character.is_ascii() => write!(writer, "\\x{:02x}", u32::from(character)),
        _ => write!(writer, "\\u{{{:x}}}", u32::from(character)),
    }
}
