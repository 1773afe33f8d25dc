//! Check of ISO 8601 timestamps in the forms that System.Text.Json reads into a `DateTime`.
//!
//! Accepted: `YYYY-MM-DD`, optionally followed by `THH:MM`, `:SS`, a fraction of 1 to 16 digits
//! and, when a time is present, `Z` or an offset `+HH:MM` / `-HH:MM`.

/// Returns true when `text` is a timestamp that Rekaz's JSON reader accepts.
pub(crate) fn is_iso8601_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || !is_valid_date(&bytes[..10]) {
        return false;
    }

    match bytes.get(10) {
        None => true,
        Some(b'T') => is_valid_time_and_offset(&bytes[11..]),
        Some(_) => false,
    }
}

/// Checks `YYYY-MM-DD`, including the number of days in the month.
fn is_valid_date(bytes: &[u8]) -> bool {
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        digits(&bytes[0..4]),
        digits(&bytes[5..7]),
        digits(&bytes[8..10]),
    ) else {
        return false;
    };

    year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
}

/// Checks `HH:MM[:SS[.fraction]]` followed by an optional `Z` or `±HH:MM`.
fn is_valid_time_and_offset(bytes: &[u8]) -> bool {
    let offset_start = bytes
        .iter()
        .position(|byte| matches!(byte, b'Z' | b'+' | b'-'))
        .unwrap_or(bytes.len());
    let (time, offset) = bytes.split_at(offset_start);

    is_valid_time(time) && is_valid_offset(offset)
}

/// Checks `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction`.
fn is_valid_time(bytes: &[u8]) -> bool {
    let Some((hour_and_minute, rest)) = bytes.split_at_checked(5) else {
        return false;
    };
    if !is_hour_and_minute(hour_and_minute) {
        return false;
    }

    match rest {
        [] => true,
        [b':', tens, units, fraction @ ..] => {
            let is_second = digits(&[*tens, *units]).is_some_and(|second| second < 60);
            is_second && is_valid_fraction(fraction)
        }
        _ => false,
    }
}

/// Checks an empty fraction or `.` followed by 1 to 16 digits.
fn is_valid_fraction(bytes: &[u8]) -> bool {
    match bytes {
        [] => true,
        [b'.', digits @ ..] => {
            (1..=16).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Checks an empty offset, `Z` or `±HH:MM`.
fn is_valid_offset(bytes: &[u8]) -> bool {
    match bytes {
        [] | [b'Z'] => true,
        [b'+' | b'-', hour_and_minute @ ..] => is_hour_and_minute(hour_and_minute),
        _ => false,
    }
}

/// Checks `HH:MM` with an hour below 24 and a minute below 60.
fn is_hour_and_minute(bytes: &[u8]) -> bool {
    let [hour_tens, hour_units, b':', minute_tens, minute_units] = bytes else {
        return false;
    };
    let hour = digits(&[*hour_tens, *hour_units]);
    let minute = digits(&[*minute_tens, *minute_units]);
    hour.is_some_and(|hour| hour < 24) && minute.is_some_and(|minute| minute < 60)
}

/// Parses a run of ASCII digits, or returns `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0_u32, |number, byte| {
        byte.is_ascii_digit()
            .then(|| number * 10 + u32::from(byte - b'0'))
    })
}

/// Returns the number of days in `month` of `year` in the Gregorian calendar.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::is_iso8601_timestamp;

    #[test]
    fn timestamp_accepts_iso8601_forms() {
        for text in [
            "2026-03-01",
            "2026-03-01T09:30",
            "2026-03-01T09:30:15",
            "2026-03-01T09:30:15.1234567",
            "2026-03-01T09:30:15Z",
            "2026-03-01T09:30:15.5+03:00",
            "2024-02-29T00:00:00-05:30",
        ] {
            assert!(is_iso8601_timestamp(text), "{text} should be accepted");
        }
    }

    #[test]
    fn timestamp_rejects_malformed_values() {
        for text in [
            "",
            "BAD",
            "2026-3-01",
            "2026-13-01",
            "2025-02-29",
            "2026-03-01 09:30",
            "2026-03-01T24:00",
            "2026-03-01T09:60",
            "2026-03-01T09:30:15.",
            "2026-03-01T09:30Z+03:00",
            "2026-03-01Z",
            "01/03/2026",
        ] {
            assert!(!is_iso8601_timestamp(text), "{text} should be rejected");
        }
    }
}
