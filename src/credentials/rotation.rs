//! Triggers that make the proxy re-read its credential sources while it runs: changed secret
//! files, SIGHUP, and the command interval. The 401 re-read lives with the forwarder.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::store::{CredentialStore, ReloadTrigger};
use super::watch::{watch_files, FileWatch};

/// The running reload triggers; dropping it stops them.
#[derive(Default)]
pub struct Rotation {
    watch: Option<FileWatch>,
    tasks: Vec<JoinHandle<()>>,
}

impl Rotation {
    /// Starts every trigger that applies to `store`'s sources. SIGHUP is handled from the
    /// moment this returns. Must be called inside a Tokio runtime.
    pub fn start(store: &Arc<CredentialStore>) -> Rotation {
        let mut rotation = Rotation::default();
        match watch_files(Arc::clone(store)) {
            Ok(watch) => rotation.watch = watch,
            Err(error) => tracing::error!(
                %error,
                "cannot watch secret files; send SIGHUP after changing them"
            ),
        }
        if let Some(task) = reload_on_hangup(store) {
            rotation.tasks.push(task);
        }
        if let Some(interval) = store.specs().command_interval {
            if store.specs().has_command_source() {
                let store = Arc::clone(store);
                rotation
                    .tasks
                    .push(tokio::spawn(rerun_commands(store, interval)));
            }
        }
        rotation
    }

    /// Stops `task` together with the triggers.
    pub fn add_task(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Returns the watched directories, empty when no file source is in use or watching failed.
    pub fn watched_directories(&self) -> &[std::path::PathBuf] {
        self.watch.as_ref().map_or(&[], FileWatch::directories)
    }
}

impl Drop for Rotation {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Installs the SIGHUP handler now, so a signal sent right after start is not fatal, and
/// returns the task that reloads on each signal.
#[cfg(unix)]
fn reload_on_hangup(store: &Arc<CredentialStore>) -> Option<JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP; credentials reload only by themselves");
            return None;
        }
    };
    let store = Arc::clone(store);
    Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!(signal = "SIGHUP", "re-reading every credential source");
            let _ = store.reload(ReloadTrigger::Signal).await;
        }
    }))
}

#[cfg(not(unix))]
fn reload_on_hangup(_store: &Arc<CredentialStore>) -> Option<JoinHandle<()>> {
    None
}

/// Re-runs the sources every `interval`, so a value rotated in a vault is picked up. The store
/// logs each outcome.
async fn rerun_commands(store: Arc<CredentialStore>, interval: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let _ = store.reload(ReloadTrigger::Interval).await;
    }
}
