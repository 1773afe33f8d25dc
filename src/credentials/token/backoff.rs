//! When to try the token endpoint again after it failed.

use std::time::{Duration, Instant};

use super::error::TokenError;

/// Wait after the first failure; it doubles with every further failure.
const FIRST_DELAY: Duration = Duration::from_secs(1);

/// Maximum wait between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// The failure streak of token requests.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<TokenError>,
    reported_without_token: bool,
}

impl Backoff {
    /// Records a failure at `now` and returns the delay until the next attempt.
    pub(super) fn record_failure(&mut self, error: TokenError, now: Instant) -> Duration {
        let delay = delay_after(self.failures);
        self.failures += 1;
        self.retry_at = Some(now + delay);
        self.last_error = Some(error);
        delay
    }

    /// Ends the streak and returns how many attempts had failed.
    pub(super) fn record_success(&mut self) -> u32 {
        let failures = self.failures;
        *self = Backoff::default();
        failures
    }

    /// Returns true the first time in a streak that it is asked, for the one ERROR line a streak
    /// gets once no usable token is left.
    pub(super) fn first_failure_without_token(&mut self) -> bool {
        !std::mem::replace(&mut self.reported_without_token, true)
    }

    /// Failed attempts in a row.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// The error to return at `now` instead of asking the endpoint again, while the wait after
    /// the last failure lasts.
    pub(super) fn pending_error(&self, now: Instant) -> Option<TokenError> {
        match self.retry_at {
            Some(retry_at) if now < retry_at => self.last_error.clone(),
            _ => None,
        }
    }

    /// When the next attempt may be made, if a failure is being waited out.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }
}

/// Returns the wait after `failures` earlier failures: 1 s, 2 s, 4 s, ... up to [`MAX_DELAY`].
fn delay_after(failures: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(2u32.saturating_pow(failures))
        .min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error() -> TokenError {
        TokenError::NoPasswordLogin
    }

    #[test]
    fn delays_double_up_to_maximum() {
        let delays: Vec<u64> = (0..8)
            .map(|failures| delay_after(failures).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn large_failure_count_stays_at_maximum() {
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn error_is_returned_during_wait() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        backoff.record_failure(error(), now);
        assert!(backoff.pending_error(now).is_some());
    }

    #[test]
    fn no_error_after_wait() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        let delay = backoff.record_failure(error(), now);
        assert!(backoff.pending_error(now + delay).is_none());
    }

    #[test]
    fn missing_token_is_reported_once_per_streak() {
        let mut backoff = Backoff::default();
        backoff.record_failure(error(), Instant::now());
        assert!(backoff.first_failure_without_token());
        assert!(!backoff.first_failure_without_token());
        backoff.record_success();
        assert!(backoff.first_failure_without_token());
    }

    #[test]
    fn success_resets_streak() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        backoff.record_failure(error(), now);
        backoff.record_failure(error(), now);
        assert_eq!(backoff.record_success(), 2);
        assert_eq!(backoff.failures(), 0);
        assert!(backoff.pending_error(now).is_none());
    }
}
