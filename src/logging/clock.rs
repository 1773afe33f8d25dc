//! Timestamps of text log lines: UTC RFC 3339 with microseconds, such as
//! `2026-01-01T00:00:00.123456Z`. Each thread formats the date and time up to the second once
//! per second and appends the microseconds to that text.

use std::cell::RefCell;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Written in place of a timestamp that RFC 3339 cannot show: before 1970 or after year 9999.
const UNKNOWN_TIME: &str = "<unknown time>";

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Returns the current time.
    fn now(&self) -> SystemTime;
}

/// The system's real-time clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

thread_local! {
    static SECOND: RefCell<SecondCache> = const { RefCell::new(SecondCache::new()) };
}

/// Appends `now` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or `<unknown time>` when it is before 1970
/// or after year 9999.
pub(super) fn push_timestamp(line: &mut String, now: SystemTime) {
    let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
        line.push_str(UNKNOWN_TIME);
        return;
    };
    SECOND.with_borrow_mut(|cache| match cache.text(since_epoch.as_secs()) {
        Some(second) => {
            // One million plus the microseconds has seven digits, so the last six are the
            // microseconds padded with zeros.
            let mut digits = itoa::Buffer::new();
            let micros = digits.format(1_000_000 + since_epoch.subsec_micros());
            line.push_str(second);
            line.push('.');
            line.push_str(&micros[1..]);
            line.push('Z');
        }
        None => line.push_str(UNKNOWN_TIME),
    });
}

/// The formatted date and time of the last second asked for.
struct SecondCache {
    /// Seconds since the Unix epoch that `text` shows; `None` before the first call.
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS`, or empty when `second` is past year 9999.
    text: String,
}

impl SecondCache {
    const fn new() -> Self {
        SecondCache {
            second: None,
            text: String::new(),
        }
    }

    /// Returns `YYYY-MM-DDTHH:MM:SS` for `second` seconds after the Unix epoch, formatting it
    /// only when `second` differs from the last call's; `None` after year 9999.
    fn text(&mut self, second: u64) -> Option<&str> {
        if self.second != Some(second) {
            self.second = Some(second);
            self.text.clear();
            let time = UNIX_EPOCH.checked_add(Duration::from_secs(second));
            let formatted = time.map(humantime::format_rfc3339_seconds);
            // humantime writes `YYYY-MM-DDTHH:MM:SSZ` and fails after year 9999.
            match formatted.map(|time| write!(self.text, "{time}")) {
                Some(Ok(())) => {
                    self.text.pop();
                }
                Some(Err(_)) | None => self.text.clear(),
            }
        }
        (!self.text.is_empty()).then_some(self.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NEW_YEAR_2026: u64 = 1_767_225_600;

    fn timestamp(time: SystemTime) -> String {
        let mut line = String::new();
        push_timestamp(&mut line, time);
        line
    }

    #[test]
    fn timestamp_has_microseconds() {
        let time = UNIX_EPOCH + Duration::new(NEW_YEAR_2026, 123_456_789);

        assert_eq!(timestamp(time), "2026-01-01T00:00:00.123456Z");
    }

    #[test]
    fn timestamp_pads_microseconds() {
        let time = UNIX_EPOCH + Duration::new(NEW_YEAR_2026 + 59, 7_000);

        assert_eq!(timestamp(time), "2026-01-01T00:00:59.000007Z");
    }

    #[test]
    fn timestamp_before_epoch_is_unknown() {
        let time = UNIX_EPOCH - Duration::from_secs(1);

        assert_eq!(timestamp(time), UNKNOWN_TIME);
    }

    #[test]
    fn timestamp_after_year_9999_is_unknown() {
        let time = UNIX_EPOCH + Duration::from_secs(253_402_300_800);

        assert_eq!(timestamp(time), UNKNOWN_TIME);
    }

    #[test]
    fn cache_keeps_text_within_second() {
        let mut cache = SecondCache::new();

        let first = cache.text(NEW_YEAR_2026).map(str::to_owned);
        cache.text = "kept until the second changes".to_owned();
        let again = cache.text(NEW_YEAR_2026).map(str::to_owned);

        assert_eq!(first.as_deref(), Some("2026-01-01T00:00:00"));
        assert_eq!(again.as_deref(), Some("kept until the second changes"));
    }

    #[test]
    fn cache_rolls_over_to_next_second() {
        let mut cache = SecondCache::new();
        let seconds = [
            (NEW_YEAR_2026 - 1, "2025-12-31T23:59:59"),
            (NEW_YEAR_2026, "2026-01-01T00:00:00"),
            (NEW_YEAR_2026 + 1, "2026-01-01T00:00:01"),
            (NEW_YEAR_2026 - 1, "2025-12-31T23:59:59"),
        ];

        for (second, expected) in seconds {
            assert_eq!(cache.text(second), Some(expected), "second {second}");
        }
    }

    #[test]
    fn timestamp_rolls_over_within_thread() {
        let before = UNIX_EPOCH + Duration::new(NEW_YEAR_2026 - 1, 999_999_000);
        let after = UNIX_EPOCH + Duration::new(NEW_YEAR_2026, 0);

        assert_eq!(timestamp(before), "2025-12-31T23:59:59.999999Z");
        assert_eq!(timestamp(after), "2026-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(before), "2025-12-31T23:59:59.999999Z");
    }
}
