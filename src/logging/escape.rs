//! Escaping of field values so that no value breaks a text log line or reaches a terminal as a
//! control sequence.

use std::fmt::{self, Write};

/// Returns whether every byte of `text` is printable ASCII, from `' '` to `'~'`.
pub(super) fn is_printable_ascii(text: &str) -> bool {
    // A fold without an early exit lets the compiler vectorise the loop.
    text.bytes()
        .fold(true, |printable, byte| printable & is_printable_byte(byte))
}

/// Returns whether `text` is printable ASCII without `"` and `\`, so `{:?}` would write it
/// unchanged between quotes.
pub(super) fn quotes_unchanged(text: &str) -> bool {
    text.bytes().fold(true, |unchanged, byte| {
        unchanged & is_printable_byte(byte) & (byte != b'"') & (byte != b'\\')
    })
}

fn is_printable_byte(byte: u8) -> bool {
    matches!(byte, b' '..=b'~')
}

/// A writer that appends to a line and escapes control characters, U+2028 and U+2029.
///
/// NOTE: backslashes pass unescaped, as in tracing-subscriber's format, so a value that
/// contained the two characters `\n` reads the same as one that contained a newline.
pub(super) struct Escaped<'line>(pub(super) &'line mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if is_printable_ascii(text) {
            self.0.push_str(text);
            return Ok(());
        }
        let mut plain_start = 0;
        for (index, character) in text.char_indices() {
            if is_escaped(character) {
                self.0.push_str(&text[plain_start..index]);
                write_escape(self.0, character)?;
                plain_start = index + character.len_utf8();
            }
        }
        self.0.push_str(&text[plain_start..]);
        Ok(())
    }
}

/// Returns whether `character` is a control character or a Unicode line or paragraph separator.
fn is_escaped(character: char) -> bool {
    character.is_control() || matches!(character, '\u{2028}' | '\u{2029}')
}

/// Appends a newline, carriage return or tab as `\n`, `\r` or `\t`, other ASCII as `\xNN` and
/// the rest as `\u{N}`, all in lowercase hexadecimal.
fn write_escape(line: &mut String, character: char) -> fmt::Result {
    let code = u32::from(character);
    match character {
        '\n' => line.write_str("\\n"),
        '\r' => line.write_str("\\r"),
        '\t' => line.write_str("\\t"),
        _ if character.is_ascii() => write!(line, "\\x{code:02x}"),
        _ => write!(line, "\\u{{{code:x}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks every ASCII byte at every offset of a 40-byte text, so that both the vectorised
    /// loop and its scalar remainder check it.
    #[test]
    fn scans_agree_with_byte_checks() {
        for byte in 0..=0x7F_u8 {
            let printable = (b' '..=b'~').contains(&byte);
            let unchanged = printable && byte != b'"' && byte != b'\\';
            for offset in 0..40 {
                let mut bytes = vec![b'a'; 40];
                bytes[offset] = byte;
                let text = std::str::from_utf8(&bytes).unwrap();

                assert_eq!(is_printable_ascii(text), printable, "{byte:#x} at {offset}");
                assert_eq!(quotes_unchanged(text), unchanged, "{byte:#x} at {offset}");
            }
        }
    }

    #[test]
    fn scans_reject_non_ascii() {
        for text in ["é", "aaaaaaaaaaaaaaaaaaaaé", "\u{85}", "\u{2028}", "مرحبا"] {
            assert!(!is_printable_ascii(text), "{text:?}");
            assert!(!quotes_unchanged(text), "{text:?}");
        }
    }

    #[test]
    fn scans_reject_control_before_space() {
        for text in [
            "\n ",
            "a\x1b ",
            "\x7f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(!is_printable_ascii(text), "{text:?}");
            assert!(!quotes_unchanged(text), "{text:?}");
        }
    }

    #[test]
    fn scans_accept_empty_text() {
        assert!(is_printable_ascii(""));
        assert!(quotes_unchanged(""));
    }
}
