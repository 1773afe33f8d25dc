//! The failure streak of credential reloads: logged once when it starts and once when it ends,
//! and reported by the readiness probe while it lasts.

use std::time::SystemTime;

use super::error::CredentialError;

/// The reload failures since the last good read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// The latest error, which names the source but never the value.
    pub message: String,
    /// Failed reads in a row.
    pub failures: u32,
    /// When the first of them happened.
    pub since: SystemTime,
}

/// Tracks whether the latest reload failed.
#[derive(Debug, Default)]
pub(super) struct ReloadHealth {
    failure: Option<ReloadFailure>,
}

impl ReloadHealth {
    /// Records a failed read and returns the streak it belongs to.
    pub(super) fn record_failure(&mut self, error: &CredentialError) -> ReloadFailure {
        let failure = match self.failure.take() {
            Some(streak) => ReloadFailure {
                message: error.to_string(),
                failures: streak.failures + 1,
                since: streak.since,
            },
            None => ReloadFailure {
                message: error.to_string(),
                failures: 1,
                since: SystemTime::now(),
            },
        };
        self.failure = Some(failure.clone());
        failure
    }

    /// Records a good read and returns the streak it ended, if any.
    pub(super) fn record_success(&mut self) -> Option<ReloadFailure> {
        self.failure.take()
    }

    /// Returns the current failure streak, if the latest read failed.
    pub(super) fn failure(&self) -> Option<&ReloadFailure> {
        self.failure.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_source() -> CredentialError {
        CredentialError::Empty {
            source_name: "file:/run/secrets/key".to_owned(),
        }
    }

    #[test]
    fn first_failure_starts_streak() {
        let mut health = ReloadHealth::default();
        assert_eq!(health.record_failure(&empty_source()).failures, 1);
    }

    #[test]
    fn repeated_failures_extend_streak() {
        let mut health = ReloadHealth::default();
        let first = health.record_failure(&empty_source());
        let second = health.record_failure(&empty_source());
        assert_eq!(second.failures, 2);
        assert_eq!(second.since, first.since);
    }

    #[test]
    fn success_ends_streak() {
        let mut health = ReloadHealth::default();
        health.record_failure(&empty_source());
        assert_eq!(
            health.record_success().map(|streak| streak.failures),
            Some(1)
        );
        assert!(health.failure().is_none());
    }

    #[test]
    fn success_without_streak_reports_none() {
        let mut health = ReloadHealth::default();
        assert!(health.record_success().is_none());
    }
}
