//! The shared, swappable credentials every request reads.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::active::ActiveCredentials;
use super::error::CredentialError;
use super::CredentialSpecs;
use crate::env::EnvVars;

/// The credentials in use, replaced whole on reload; reads never block.
#[derive(Debug)]
pub struct CredentialStore {
    specs: CredentialSpecs,
    env: EnvVars,
    current: ArcSwap<ActiveCredentials>,
}

/// What a reload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The sources held the same values.
    Unchanged,
    /// New values were read and are now in use.
    Changed,
}

impl CredentialStore {
    /// Reads every source once; fails if any value is missing or invalid.
    pub fn load(specs: CredentialSpecs, env: EnvVars) -> Result<Self, CredentialError> {
        let active = ActiveCredentials::read(&specs, &env)?;
        log_line_endings(&active);
        Ok(CredentialStore {
            specs,
            env,
            current: ArcSwap::from_pointee(active),
        })
    }

    /// The credentials to use for the next request.
    pub fn current(&self) -> Arc<ActiveCredentials> {
        self.current.load_full()
    }

    /// The configured sources.
    pub fn specs(&self) -> &CredentialSpecs {
        &self.specs
    }

    /// Reads every source again. On failure the current credentials stay in use.
    pub fn reload(&self) -> Result<ReloadOutcome, CredentialError> {
        let fresh = ActiveCredentials::read(&self.specs, &self.env)?;
        if fresh.same_values(&self.current.load()) {
            return Ok(ReloadOutcome::Unchanged);
        }
        log_line_endings(&fresh);
        self.current.store(Arc::new(fresh));
        Ok(ReloadOutcome::Changed)
    }
}

fn log_line_endings(active: &ActiveCredentials) {
    if !active.report.line_endings_removed.is_empty() {
        tracing::warn!(
            values = ?active.report.line_endings_removed,
            "removed trailing CR/LF from secret file contents; \
             write the files without a final newline to silence this warning"
        );
    }
}
