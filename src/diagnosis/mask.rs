//! Masking of submitted values in Rekaz's error messages before they reach a log.
//!
//! Rekaz echoes what the client sent ("The value '0512345678' is not valid for MobileNumber."),
//! and those values are personal data. Every message taken from a response body goes through
//! [`mask_values`] first.

/// Replacement for a masked value.
pub const MASK: &str = "***";

/// Maximum message length kept, in characters. Longer messages are cut and end with `…`.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Minimum number of digits in a run masked as a possible phone, account or card number.
const MIN_MASKED_DIGITS: usize = 7;

/// Integer bounds that .NET range messages print ("must be between 1 and 2147483647");
/// they are type limits, not submitted values, so they stay readable.
const TYPE_LIMITS: [&str; 3] = ["2147483647", "4294967295", "9223372036854775807"];

/// Opening and closing quote characters whose content is masked.
const QUOTES: [(char, char); 5] = [
    ('\'', '\''),
    ('"', '"'),
    ('\u{201C}', '\u{201D}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{AB}', '\u{BB}'),
];

/// Returns `text` with submitted values replaced by `***`: the content of every quoted span,
/// every e-mail address, and every run of seven or more digits (spaces, `-`, `(`, `)` and a
/// leading `+` allowed between them). Control characters become spaces, so a message cannot
/// forge a log line, and the result is at most [`MAX_MESSAGE_CHARS`] characters long.
///
/// NOTE: a value Rekaz echoes without quotes that is neither an e-mail address nor a long
/// number, such as a bare customer name, is not recognised and stays visible.
pub fn mask_values(text: &str) -> String {
    let chars = without_control_characters(text);
    let quoted = mask_quoted(&chars);
    let tokens = mask_email_addresses(&quoted);
    let numbers = mask_digit_runs(&tokens);
    truncate(numbers.iter().collect(), MAX_MESSAGE_CHARS)
}

/// Returns the proxy's own message `text` with control characters replaced by spaces and cut
/// to [`MAX_MESSAGE_CHARS`], for texts that carry no submitted value, such as an I/O error.
pub fn clean_text(text: &str) -> String {
    truncate(
        without_control_characters(text).iter().collect(),
        MAX_MESSAGE_CHARS,
    )
}

fn without_control_characters(text: &str) -> Vec<char> {
    text.chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect()
}

/// Cuts `text` to at most `max` characters, marking a cut with `…`.
pub fn truncate(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn mask_quoted(chars: &[char]) -> Vec<char> {
    let mut output = Vec::with_capacity(chars.len());
    let mut index = 0;
    while index < chars.len() {
        let character = chars[index];
        output.push(character);
        index += 1;
        let Some(close) = opening_quote(chars, index - 1) else {
            continue;
        };
        let end = closing_quote(chars, index, close).unwrap_or(chars.len());
        if end > index {
            output.extend(MASK.chars());
        }
        if end < chars.len() {
            output.push(chars[end]);
        }
        index = end + 1;
    }
    output
}

/// Returns the closing quote for an opening quote at `at`. An ASCII apostrophe inside a word,
/// as in "customer's", opens nothing.
fn opening_quote(chars: &[char], at: usize) -> Option<char> {
    let (_, close) = QUOTES.iter().find(|(open, _)| *open == chars[at])?;
    let inside_word = at > 0 && chars[at - 1].is_alphanumeric();
    if chars[at] == '\'' && inside_word {
        return None;
    }
    Some(*close)
}

/// Finds the closing quote from `start`. An ASCII apostrophe followed by a letter is skipped,
/// so "'O'Brien'" is one quoted span.
fn closing_quote(chars: &[char], start: usize, close: char) -> Option<usize> {
    (start..chars.len()).find(|&index| {
        let followed_by_letter = chars
            .get(index + 1)
            .is_some_and(|next| next.is_alphanumeric());
        chars[index] == close && !(close == '\'' && followed_by_letter)
    })
}

fn mask_email_addresses(chars: &[char]) -> Vec<char> {
    let mut output = Vec::with_capacity(chars.len());
    let mut index = 0;
    while index < chars.len() {
        if chars[index].is_whitespace() {
            output.push(chars[index]);
            index += 1;
            continue;
        }
        let end = (index..chars.len())
            .find(|&at| chars[at].is_whitespace())
            .unwrap_or(chars.len());
        let token = &chars[index..end];
        let (core, trailing) = split_trailing_punctuation(token);
        if is_email_address(core) {
            output.extend(MASK.chars());
            output.extend_from_slice(trailing);
        } else {
            output.extend_from_slice(token);
        }
        index = end;
    }
    output
}

fn split_trailing_punctuation(token: &[char]) -> (&[char], &[char]) {
    let keep = token
        .iter()
        .rposition(|character| !matches!(character, '.' | ',' | ';' | ':' | '!' | '?' | ')'))
        .map_or(0, |last| last + 1);
    token.split_at(keep)
}

fn is_email_address(token: &[char]) -> bool {
    match token.iter().position(|character| *character == '@') {
        Some(at) => at > 0 && at + 1 < token.len(),
        None => false,
    }
}

fn mask_digit_runs(chars: &[char]) -> Vec<char> {
    let mut output = Vec::with_capacity(chars.len());
    let mut index = 0;
    while index < chars.len() {
        if let Some(end) = guid_at(chars, index) {
            output.extend_from_slice(&chars[index..end]);
            index = end;
            continue;
        }
        match number_run(chars, index) {
            Some(end) => {
                output.extend(MASK.chars());
                index = end;
            }
            None => {
                output.push(chars[index]);
                index += 1;
            }
        }
    }
    output
}

/// Returns the end of a maskable number starting at `start`: it begins at a word boundary with
/// a digit or `+digit`, has at least [`MIN_MASKED_DIGITS`] digits, ends at a word boundary and
/// is not a type limit.
fn number_run(chars: &[char], start: usize) -> Option<usize> {
    let at_boundary = start == 0 || !chars[start - 1].is_alphanumeric();
    let first = chars[start];
    let starts_number = first.is_ascii_digit()
        || (first == '+' && chars.get(start + 1).is_some_and(char::is_ascii_digit));
    if !at_boundary || !starts_number {
        return None;
    }

    let mut end = start;
    let mut last_digit = start;
    let mut digits = 0;
    while end < chars.len() && is_number_character(chars[end]) {
        if chars[end].is_ascii_digit() {
            digits += 1;
            last_digit = end;
        }
        end += 1;
    }
    let end = last_digit + 1;
    let ends_at_boundary = chars.get(end).is_none_or(|next| !next.is_alphanumeric());
    let run: String = chars[start..end].iter().collect();
    let is_type_limit = TYPE_LIMITS.contains(&run.trim_start_matches('+'));
    (digits >= MIN_MASKED_DIGITS && ends_at_boundary && !is_type_limit).then_some(end)
}

/// Returns the end of a GUID (8-4-4-4-12 hex digits) starting at `start`. Ids are kept: they
/// name records, not people, and a person needs them to look the record up.
fn guid_at(chars: &[char], start: usize) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let at_boundary = start == 0 || !chars[start - 1].is_alphanumeric();
    if !at_boundary {
        return None;
    }
    let mut index = start;
    for (number, length) in GROUPS.into_iter().enumerate() {
        if number > 0 {
            (chars.get(index) == Some(&'-')).then_some(())?;
            index += 1;
        }
        let group = chars.get(index..index + length)?;
        group.iter().all(char::is_ascii_hexdigit).then_some(())?;
        index += length;
    }
    let ends_at_boundary = chars.get(index).is_none_or(|next| !next.is_alphanumeric());
    ends_at_boundary.then_some(index)
}

fn is_number_character(character: char) -> bool {
    character.is_ascii_digit() || matches!(character, ' ' | '-' | '(' | ')' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_value_is_masked() {
        assert_eq!(
            mask_values("The value 'BAD' is not valid for PriceId."),
            "The value '***' is not valid for PriceId."
        );
    }

    #[test]
    fn double_quoted_value_is_masked() {
        assert_eq!(
            mask_values(r#"Customer "Abdulaziz" exists"#),
            r#"Customer "***" exists"#
        );
    }

    #[test]
    fn apostrophe_inside_word_is_kept() {
        assert_eq!(
            mask_values("The customer's mobile 'x' is taken"),
            "The customer's mobile '***' is taken"
        );
    }

    #[test]
    fn quote_with_inner_apostrophe_is_one_span() {
        assert_eq!(mask_values("Name 'O'Brien' is bad"), "Name '***' is bad");
    }

    #[test]
    fn unclosed_quote_masks_to_end() {
        assert_eq!(mask_values("The value 'Abdul"), "The value '***");
    }

    #[test]
    fn empty_quotes_stay_empty() {
        assert_eq!(
            mask_values("The value '' is invalid."),
            "The value '' is invalid."
        );
    }

    #[test]
    fn phone_number_is_masked() {
        assert_eq!(
            mask_values("Mobile number 0512345678 already exists"),
            "Mobile number *** already exists"
        );
    }

    #[test]
    fn international_phone_number_is_masked() {
        assert_eq!(mask_values("number +966 51 234-5678."), "number ***.");
    }

    #[test]
    fn short_numbers_are_kept() {
        assert_eq!(
            mask_values("The field Quantity must be between 1 and 100."),
            "The field Quantity must be between 1 and 100."
        );
    }

    #[test]
    fn type_limit_is_kept() {
        assert_eq!(
            mask_values("must be between 1 and 2147483647."),
            "must be between 1 and 2147483647."
        );
    }

    #[test]
    fn guid_with_letters_is_kept() {
        let text = "There is no entity Customer with id = 3a1f3638-e6dc-d864-4aa7-df60cdbb1146!";
        assert_eq!(mask_values(text), text);
    }

    #[test]
    fn guid_with_digit_groups_is_kept() {
        let text = "There is no entity Customer with id = 3fa85f64-5717-4562-b3fc-2c963f66afa6!";
        assert_eq!(mask_values(text), text);
    }

    #[test]
    fn all_digit_guid_is_kept() {
        let text = "id 12345678-1234-1234-1234-123456789012.";
        assert_eq!(mask_values(text), text);
    }

    #[test]
    fn email_address_is_masked() {
        assert_eq!(
            mask_values("E-mail a.b@example.com, is taken"),
            "E-mail ***, is taken"
        );
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(mask_values("line one\r\nline two"), "line one  line two");
    }

    #[test]
    fn clean_text_keeps_quotes() {
        assert_eq!(
            clean_text("dot segment \"..\" is not allowed\n"),
            "dot segment \"..\" is not allowed "
        );
    }

    #[test]
    fn long_message_is_cut() {
        let masked = mask_values(&"a".repeat(MAX_MESSAGE_CHARS + 10));
        assert_eq!(masked.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(masked.ends_with('…'));
    }

    #[test]
    fn arabic_quotes_are_masked() {
        assert_eq!(mask_values("الاسم «محمد» مستخدم"), "الاسم «***» مستخدم");
    }
}
