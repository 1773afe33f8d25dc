//! Credential facts from earlier exchanges: whether Rekaz accepted the credentials in use, and
//! the outcome of the probe with key and secret swapped.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwapOption;

use crate::credentials::ActiveCredentials;

/// Status of one set of credentials, learned from earlier exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStatus {
    /// Nothing is known yet, and no probe was made.
    Unknown,
    /// Rekaz accepted these credentials earlier in this run.
    AcceptedEarlier,
    /// A probe with key and secret swapped is under way.
    ProbeRunning,
    /// Rekaz accepted these credentials with key and secret swapped.
    Swapped,
    /// Rekaz rejected these credentials with key and secret swapped as well.
    NotSwapped,
    /// The probe could not run or got no response, and it is not repeated.
    ProbeInconclusive,
}

/// Outcome of a finished probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The swapped pair was accepted.
    Swapped,
    /// The swapped pair was rejected too.
    NotSwapped,
    /// The probe could not run or got no response.
    Inconclusive,
}

/// The credential facts of the whole process; cheap to read on every successful exchange.
#[derive(Debug, Default)]
pub struct CredentialHistory {
    accepted: ArcSwapOption<ActiveCredentials>,
    probe: Mutex<Option<ProbeRecord>>,
}

#[derive(Debug)]
struct ProbeRecord {
    credentials: Arc<ActiveCredentials>,
    status: CredentialStatus,
}

impl CredentialHistory {
    /// Records that Rekaz accepted `credentials`.
    pub fn note_accepted(&self, credentials: &Arc<ActiveCredentials>) {
        let known = self
            .accepted
            .load()
            .as_ref()
            .is_some_and(|accepted| same_set(accepted, credentials));
        if !known {
            self.accepted.store(Some(Arc::clone(credentials)));
        }
    }

    /// Returns the status of `credentials`.
    pub fn status(&self, credentials: &Arc<ActiveCredentials>) -> CredentialStatus {
        let accepted = self
            .accepted
            .load()
            .as_ref()
            .is_some_and(|accepted| same_set(accepted, credentials));
        if accepted {
            return CredentialStatus::AcceptedEarlier;
        }
        match &*self.lock() {
            Some(record) if same_set(&record.credentials, credentials) => record.status,
            _ => CredentialStatus::Unknown,
        }
    }

    /// Claims the one probe allowed for `credentials`; returns false when a probe for this set
    /// already ran or runs.
    pub fn claim_probe(&self, credentials: &Arc<ActiveCredentials>) -> bool {
        let mut record = self.lock();
        if record
            .as_ref()
            .is_some_and(|record| same_set(&record.credentials, credentials))
        {
            return false;
        }
        *record = Some(ProbeRecord {
            credentials: Arc::clone(credentials),
            status: CredentialStatus::ProbeRunning,
        });
        true
    }

    /// Stores the outcome of the probe for `credentials`.
    pub fn record_probe(&self, credentials: &Arc<ActiveCredentials>, outcome: ProbeOutcome) {
        let mut record = self.lock();
        if let Some(record) = record
            .as_mut()
            .filter(|record| same_set(&record.credentials, credentials))
        {
            record.status = match outcome {
                ProbeOutcome::Swapped => CredentialStatus::Swapped,
                ProbeOutcome::NotSwapped => CredentialStatus::NotSwapped,
                ProbeOutcome::Inconclusive => CredentialStatus::ProbeInconclusive,
            };
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<ProbeRecord>> {
        self.probe.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns whether two credential sets send the same headers. A reload that read the same
/// values builds no new set, so the pointer check usually decides.
fn same_set(left: &Arc<ActiveCredentials>, right: &Arc<ActiveCredentials>) -> bool {
    Arc::ptr_eq(left, right) || left.same_values(right)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds credentials from literal test values.
    pub(crate) fn credentials(key: &str, secret: &str) -> Arc<ActiveCredentials> {
        let tenant = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";
        Arc::new(ActiveCredentials::from_api_key(key, secret, tenant).unwrap())
    }

    #[test]
    fn unknown_credentials_have_no_status() {
        let history = CredentialHistory::default();
        let status = history.status(&credentials("key-one-1", "secret-1"));
        assert_eq!(status, CredentialStatus::Unknown);
    }

    #[test]
    fn accepted_credentials_are_remembered() {
        let history = CredentialHistory::default();
        let first = credentials("key-one-1", "secret-1");
        history.note_accepted(&first);
        let reread = credentials("key-one-1", "secret-1");
        assert_eq!(history.status(&reread), CredentialStatus::AcceptedEarlier);
    }

    #[test]
    fn other_credentials_are_not_accepted() {
        let history = CredentialHistory::default();
        history.note_accepted(&credentials("key-one-1", "secret-1"));
        let status = history.status(&credentials("key-one-1", "secret-2"));
        assert_eq!(status, CredentialStatus::Unknown);
    }

    #[test]
    fn probe_is_claimed_once_per_set() {
        let history = CredentialHistory::default();
        let set = credentials("key-one-1", "secret-1");
        assert!(history.claim_probe(&set));
        assert!(!history.claim_probe(&set));
        assert!(history.claim_probe(&credentials("key-two-2", "secret-2")));
    }

    #[test]
    fn probe_outcome_becomes_status() {
        let history = CredentialHistory::default();
        let set = credentials("key-one-1", "secret-1");
        history.claim_probe(&set);
        assert_eq!(history.status(&set), CredentialStatus::ProbeRunning);
        history.record_probe(&set, ProbeOutcome::Swapped);
        assert_eq!(history.status(&set), CredentialStatus::Swapped);
    }
}
