//! The shared, swappable credentials every request reads, and their reloads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::active::ActiveCredentials;
use super::error::CredentialError;
use super::health::{ReloadFailure, ReloadHealth};
use super::CredentialSpecs;
use crate::env::EnvVars;

/// Shortest time between two re-reads caused by rejections, so a client that keeps calling with
/// credentials Rekaz rejects cannot make the proxy run a `command:` source for every call.
const REJECTION_REREAD_GAP: Duration = Duration::from_secs(5);

/// The credentials in use, replaced whole on reload; reads never block.
#[derive(Debug)]
pub struct CredentialStore {
    specs: CredentialSpecs,
    env: EnvVars,
    current: ArcSwap<ActiveCredentials>,
    health: Mutex<ReloadHealth>,
    /// Serializes reloads, so concurrent triggers read the sources one at a time. It guards the
    /// time of the latest re-read caused by a rejection.
    reload_lock: tokio::sync::Mutex<Option<Instant>>,
    /// Reloads finished so far, failed ones included.
    finished_reloads: AtomicU64,
    /// Sends the generation of the credentials in use to every task waiting for a change.
    changes: watch::Sender<u64>,
}

/// Result of a reload that read every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The sources held the same values.
    Unchanged,
    /// New values were read and are now in use.
    Changed,
}

/// Reason the sources are read again, logged with every reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// A watched secret file or its directory changed.
    FileChanged,
    /// The process received SIGHUP.
    Signal,
    /// `credentials.command_interval` passed.
    Interval,
    /// Rekaz rejected the credentials with 401.
    Rejected,
    /// A caller of [`CredentialStore::reload`] asked, such as a test.
    Requested,
}

impl ReloadTrigger {
    /// Returns the trigger's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadTrigger::FileChanged => "file_changed",
            ReloadTrigger::Signal => "sighup",
            ReloadTrigger::Interval => "command_interval",
            ReloadTrigger::Rejected => "rejected_by_rekaz",
            ReloadTrigger::Requested => "requested",
        }
    }
}

impl CredentialStore {
    /// Reads every source once; fails if any value is missing or invalid.
    pub async fn load(specs: CredentialSpecs, env: EnvVars) -> Result<Self, CredentialError> {
        let active = ActiveCredentials::read(&specs, &env).await?;
        log_cleanup(&active);
        Ok(CredentialStore {
            specs,
            env,
            current: ArcSwap::from_pointee(active),
            health: Mutex::new(ReloadHealth::default()),
            reload_lock: tokio::sync::Mutex::new(None),
            finished_reloads: AtomicU64::new(0),
            changes: watch::Sender::new(0),
        })
    }

    /// Returns the credentials to use for the next request.
    pub fn current(&self) -> Arc<ActiveCredentials> {
        self.current.load_full()
    }

    /// Returns the configured sources.
    pub fn specs(&self) -> &CredentialSpecs {
        &self.specs
    }

    /// Reloads finished so far, failed ones included. Take it before [`Self::current`] and hand
    /// it to [`Self::reread_after_rejection`].
    pub fn finished_reloads(&self) -> u64 {
        self.finished_reloads.load(Ordering::Acquire)
    }

    /// Returns the failure streak of the latest reloads, if the latest one failed.
    pub fn reload_failure(&self) -> Option<ReloadFailure> {
        self.lock_health().failure().cloned()
    }

    /// Returns a receiver of the generation of the credentials in use, updated on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Reads every source again. On failure the current credentials stay in use.
    pub async fn reload(&self, trigger: ReloadTrigger) -> Result<ReloadOutcome, CredentialError> {
        let _reloading = self.reload_lock.lock().await;
        self.reload_now(trigger).await
    }

    /// Re-reads the sources after Rekaz rejected `used`, once for any number of concurrent
    /// rejections: when a reload finished after `finished_before` (the value of
    /// [`Self::finished_reloads`] taken with `used`), its result is reused instead. Within
    /// [`REJECTION_REREAD_GAP`] of the previous re-read after a rejection, nothing is read and the
    /// outcome is `Unchanged`.
    pub async fn reread_after_rejection(
        &self,
        used: &ActiveCredentials,
        finished_before: u64,
    ) -> Result<ReloadOutcome, CredentialError> {
        let mut last_rejection_reread = self.reload_lock.lock().await;
        if self.finished_reloads() != finished_before {
            if self.current().generation() != used.generation() {
                return Ok(ReloadOutcome::Changed);
            }
            return Ok(ReloadOutcome::Unchanged);
        }
        if last_rejection_reread.is_some_and(|at| at.elapsed() < REJECTION_REREAD_GAP) {
            tracing::debug!(
                "credentials were re-read after a rejection moments ago; not reading them again"
            );
            return Ok(ReloadOutcome::Unchanged);
        }
        *last_rejection_reread = Some(Instant::now());
        self.reload_now(ReloadTrigger::Rejected).await
    }

    async fn reload_now(&self, trigger: ReloadTrigger) -> Result<ReloadOutcome, CredentialError> {
        let result = ActiveCredentials::read(&self.specs, &self.env).await;
        let outcome = match result {
            Ok(mut fresh) => {
                self.note_success(trigger);
                fresh.share_issued_tokens(Arc::clone(self.current.load().issued_tokens()));
                Ok(self.install(fresh, trigger))
            }
            Err(error) => {
                let error = error.redact(&self.current().redactor());
                self.note_failure(trigger, &error);
                Err(error)
            }
        };
        self.finished_reloads.fetch_add(1, Ordering::AcqRel);
        outcome
    }

    /// Puts `fresh` in use if its values differ from the current ones.
    fn install(&self, mut fresh: ActiveCredentials, trigger: ReloadTrigger) -> ReloadOutcome {
        let current = self.current.load();
        let changed = fresh.changed_values(&current);
        if changed.is_empty() {
            tracing::debug!(trigger = trigger.as_str(), "credential sources unchanged");
            return ReloadOutcome::Unchanged;
        }
        let generation = current.generation() + 1;
        fresh.set_generation(generation);
        log_cleanup(&fresh);
        tracing::info!(
            trigger = trigger.as_str(),
            changed = %self.describe_sources(&changed),
            key = %fresh.key_hint,
            generation,
            "credentials reloaded; new requests use the new values"
        );
        self.current.store(Arc::new(fresh));
        self.changes.send_replace(generation);
        ReloadOutcome::Changed
    }

    fn note_success(&self, trigger: ReloadTrigger) {
        if let Some(streak) = self.lock_health().record_success() {
            tracing::info!(
                trigger = trigger.as_str(),
                failed_reads = streak.failures,
                "credential sources readable again"
            );
        }
    }

    fn note_failure(&self, trigger: ReloadTrigger, error: &CredentialError) {
        let streak = self.lock_health().record_failure(error);
        if streak.failures == 1 {
            tracing::error!(
                trigger = trigger.as_str(),
                %error,
                "cannot re-read the credentials; still using the ones read before"
            );
        } else {
            tracing::debug!(
                trigger = trigger.as_str(),
                %error,
                failed_reads = streak.failures,
                "credentials still unreadable"
            );
        }
    }

    /// Names the changed values with their sources, such as `API secret from file:/x`.
    fn describe_sources(&self, changed: &[&'static str]) -> String {
        let sources = self.specs.used_sources();
        let described: Vec<String> = changed
            .iter()
            .map(|name| match sources.iter().find(|(used, _)| used == name) {
                Some((_, source)) => format!("{name} from {source}"),
                None => (*name).to_owned(),
            })
            .collect();
        described.join(", ")
    }

    fn lock_health(&self) -> MutexGuard<'_, ReloadHealth> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Warns about the clean-up applied to the values read, and about spaces and tabs around them,
/// which are kept.
fn log_cleanup(active: &ActiveCredentials) {
    let report = &active.report;
    if !report.line_endings_removed.is_empty() {
        tracing::warn!(
            values = ?report.line_endings_removed,
            "removed trailing CR/LF from secret file contents; \
             write the files without a final newline to silence this warning"
        );
    }
    if !report.surrounding_whitespace.is_empty() {
        tracing::warn!(
            values = ?report.surrounding_whitespace,
            "credential values begin or end with a space or tab, which the proxy keeps and \
             Rekaz does not ignore; remove them from the source unless they belong to the value"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::credentials::{AuthMode, Source};

    const TENANT: &str = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";

    fn specs(secret_file: &Path) -> CredentialSpecs {
        CredentialSpecs {
            mode: AuthMode::Basic,
            api_key: Source::Literal("key-for-store-tests".to_owned()),
            api_secret: Source::File(secret_file.to_path_buf()),
            tenant_id: Source::Literal(TENANT.to_owned()),
            username: Source::Env("UNUSED".to_owned()),
            password: Source::Env("UNUSED".to_owned()),
            command_interval: Some(Duration::from_secs(60)),
        }
    }

    async fn store_with_secret(secret: &str) -> (tempfile::TempDir, CredentialStore) {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("secret");
        std::fs::write(&file, secret).unwrap();
        let store = CredentialStore::load(specs(&file), EnvVars::default())
            .await
            .unwrap();
        (directory, store)
    }

    #[tokio::test]
    async fn reload_of_same_values_is_unchanged() {
        let (_directory, store) = store_with_secret("first-secret").await;
        let outcome = store.reload(ReloadTrigger::Requested).await.unwrap();
        assert_eq!(outcome, ReloadOutcome::Unchanged);
        assert_eq!(store.current().generation(), 0);
    }

    #[tokio::test]
    async fn reload_of_new_value_bumps_generation() {
        let (directory, store) = store_with_secret("first-secret").await;
        std::fs::write(directory.path().join("secret"), "second-secret").unwrap();

        let outcome = store.reload(ReloadTrigger::Requested).await.unwrap();

        assert_eq!(outcome, ReloadOutcome::Changed);
        assert_eq!(store.current().generation(), 1);
        assert_eq!(*store.subscribe().borrow(), 1);
    }

    #[tokio::test]
    async fn failed_reload_keeps_last_good_values() {
        let (directory, store) = store_with_secret("first-secret").await;
        let before = store.current();
        std::fs::remove_file(directory.path().join("secret")).unwrap();

        assert!(store.reload(ReloadTrigger::Requested).await.is_err());

        assert!(store.current().same_values(&before));
        assert_eq!(
            store.reload_failure().map(|failure| failure.failures),
            Some(1)
        );
    }

    #[tokio::test]
    async fn good_reload_clears_failure() {
        let (directory, store) = store_with_secret("first-secret").await;
        let file = directory.path().join("secret");
        std::fs::write(&file, "").unwrap();
        let _ = store.reload(ReloadTrigger::Requested).await;
        std::fs::write(&file, "first-secret").unwrap();

        store.reload(ReloadTrigger::Requested).await.unwrap();

        assert!(store.reload_failure().is_none());
    }

    #[tokio::test]
    async fn rejection_after_newer_reload_reuses_it() {
        let (directory, store) = store_with_secret("first-secret").await;
        let used = store.current();
        let finished_before = store.finished_reloads();
        std::fs::write(directory.path().join("secret"), "second-secret").unwrap();
        store.reload(ReloadTrigger::FileChanged).await.unwrap();
        // A read now would fail, so a second read would show up as an error.
        std::fs::remove_file(directory.path().join("secret")).unwrap();

        let outcome = store.reread_after_rejection(&used, finished_before).await;

        assert_eq!(outcome.unwrap(), ReloadOutcome::Changed);
        assert_eq!(store.finished_reloads(), finished_before + 1);
    }

    #[tokio::test]
    async fn rejection_rereads_are_spaced() {
        let (directory, store) = store_with_secret("first-secret").await;
        let used = store.current();
        let first = store.reread_after_rejection(&used, store.finished_reloads());
        assert_eq!(first.await.unwrap(), ReloadOutcome::Unchanged);
        // A read now would fail, so a second read would show up as an error.
        std::fs::remove_file(directory.path().join("secret")).unwrap();

        let second = store.reread_after_rejection(&used, store.finished_reloads());

        assert_eq!(second.await.unwrap(), ReloadOutcome::Unchanged);
        assert!(store.reload_failure().is_none());
    }

    #[tokio::test]
    async fn rejection_without_newer_reload_reads_again() {
        let (directory, store) = store_with_secret("first-secret").await;
        let used = store.current();
        let finished_before = store.finished_reloads();
        std::fs::write(directory.path().join("secret"), "second-secret").unwrap();

        let outcome = store.reread_after_rejection(&used, finished_before).await;

        assert_eq!(outcome.unwrap(), ReloadOutcome::Changed);
        assert_eq!(store.finished_reloads(), finished_before + 1);
    }
}
