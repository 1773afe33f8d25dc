//! Watches `file:` sources and reloads the credentials when one changes.
//!
//! The parent directory is watched rather than the file, because both common ways of replacing a
//! secret swap the file out from under a watch on the file itself. Kubernetes writes a new
//! timestamped directory and renames a new `..data` symlink over the old one, and the secret
//! files are symlinks through `..data`. Editors write a temporary file and rename it over the
//! old one. An in-place write is seen in the directory too.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::store::{CredentialStore, ReloadTrigger};

/// Quiet time after the last change before the sources are read, so that a write in several
/// steps or a swap of several files is read once, complete.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// A running watch; dropping it stops watching.
pub struct FileWatch {
    _watcher: RecommendedWatcher,
    task: JoinHandle<()>,
    directories: Vec<PathBuf>,
}

impl FileWatch {
    /// Returns the directories watched.
    pub fn directories(&self) -> &[PathBuf] {
        &self.directories
    }
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Directories to watch, and the file names in them whose changes matter.
#[derive(Debug, Default, PartialEq, Eq)]
struct WatchPlan {
    directories: BTreeSet<PathBuf>,
    names: HashSet<OsString>,
}

/// Starts watching the directories of the `file:` sources in use. Returns `None` when there are
/// none. A directory that cannot be watched is logged and skipped; its files are still re-read
/// on SIGHUP and after Rekaz rejects the credentials. Must be called inside a Tokio runtime.
pub fn watch_files(store: Arc<CredentialStore>) -> Result<Option<FileWatch>, notify::Error> {
    let plan = plan(
        store
            .specs()
            .used_sources()
            .iter()
            .filter_map(|(_, source)| source.file_path()),
    );
    if plan.directories.is_empty() {
        return Ok(None);
    }

    let (sender, receiver) = mpsc::unbounded_channel();
    let names = plan.names;
    let mut watcher =
        notify::recommended_watcher(move |result: notify::Result<Event>| match result {
            Ok(event) if is_relevant(&event, &names) => {
                let _ = sender.send(());
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "secret file watch reported an error"),
        })?;

    let mut directories = Vec::new();
    for directory in plan.directories {
        match watcher.watch(&directory, RecursiveMode::NonRecursive) {
            Ok(()) => directories.push(directory),
            Err(error) => tracing::warn!(
                directory = %directory.display(),
                %error,
                "cannot watch this secret directory; send SIGHUP after changing its files"
            ),
        }
    }
    tracing::info!(directories = ?directories, "watching secret files for changes");

    let task = tokio::spawn(reload_on_change(store, receiver));
    Ok(Some(FileWatch {
        _watcher: watcher,
        task,
        directories,
    }))
}

/// Lists the directories to watch for `paths`: each file's own directory, plus the directory of
/// the file its symlinks lead to, unless that is one of Kubernetes' `..` directories, which are
/// replaced on every update and seen through `..data` anyway.
///
/// NOTE: the plan is made once at start. A symlink later pointed into another directory is
/// followed by SIGHUP and 401 re-reads, but changes in its new directory are not watched.
fn plan<'a>(paths: impl Iterator<Item = &'a Path>) -> WatchPlan {
    let mut plan = WatchPlan::default();
    for path in paths {
        add_file(&mut plan, path);
        if let Ok(target) = std::fs::canonicalize(path) {
            let in_timestamped_dir = target
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|name| is_kubernetes_name(&name.to_string_lossy()));
            if target != path && !in_timestamped_dir {
                add_file(&mut plan, &target);
            }
        }
    }
    plan
}

fn add_file(plan: &mut WatchPlan, path: &Path) {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    plan.directories.insert(directory);
    if let Some(name) = path.file_name() {
        plan.names.insert(name.to_owned());
    }
}

/// Returns whether `event` may have changed a watched file. Opening and reading are ignored, or
/// the watcher's own reads would trigger it again.
fn is_relevant(event: &Event, names: &HashSet<OsString>) -> bool {
    if let EventKind::Access(kind) = event.kind {
        if kind != AccessKind::Close(AccessMode::Write) {
            return false;
        }
    }
    event.paths.iter().any(|path| {
        path.file_name()
            .is_some_and(|name| names.contains(name) || is_kubernetes_name(&name.to_string_lossy()))
    })
}

/// Kubernetes' own entries in a secret volume: `..data` and the `..<timestamp>` directories.
fn is_kubernetes_name(name: &str) -> bool {
    name.starts_with("..") && name != ".."
}

/// Reloads once per burst of changes, after [`DEBOUNCE`] of quiet. The store logs the outcome.
async fn reload_on_change(store: Arc<CredentialStore>, mut changes: mpsc::UnboundedReceiver<()>) {
    while changes.recv().await.is_some() {
        loop {
            match tokio::time::timeout(DEBOUNCE, changes.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        let _ = store.reload(ReloadTrigger::FileChanged).await;
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, ModifyKind, RenameMode};

    use super::*;

    fn names(list: &[&str]) -> HashSet<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn write_to_watched_file_is_relevant() {
        let event = event(
            EventKind::Modify(ModifyKind::Any),
            "/run/secrets/api-secret",
        );
        assert!(is_relevant(&event, &names(&["api-secret"])));
    }

    #[test]
    fn data_symlink_rename_is_relevant() {
        let event = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            "/run/secrets/..data",
        );
        assert!(is_relevant(&event, &names(&["api-secret"])));
    }

    #[test]
    fn other_file_in_directory_is_ignored() {
        let event = event(EventKind::Create(CreateKind::File), "/tmp/unrelated.txt");
        assert!(!is_relevant(&event, &names(&["api-secret"])));
    }

    #[test]
    fn reading_watched_file_is_ignored() {
        let event = event(
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            "/run/secrets/api-secret",
        );
        assert!(!is_relevant(&event, &names(&["api-secret"])));
    }

    #[test]
    fn close_after_write_is_relevant() {
        let event = event(
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            "/run/secrets/api-secret",
        );
        assert!(is_relevant(&event, &names(&["api-secret"])));
    }

    #[test]
    fn plan_watches_parent_directory() {
        let plan = plan([Path::new("/nonexistent/secrets/api-key")].into_iter());
        assert!(plan.directories.contains(Path::new("/nonexistent/secrets")));
        assert!(plan.names.contains(&OsString::from("api-key")));
    }

    #[test]
    fn plan_uses_current_directory_for_bare_name() {
        let plan = plan([Path::new("api-key")].into_iter());
        assert!(plan.directories.contains(Path::new(".")));
    }

    #[cfg(unix)]
    #[test]
    fn plan_follows_symlink_to_other_directory() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("vault");
        let mounted = root.path().join("mounted");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&mounted).unwrap();
        std::fs::write(real.join("secret-value"), "x").unwrap();
        let link = mounted.join("api-secret");
        std::os::unix::fs::symlink(real.join("secret-value"), &link).unwrap();

        let plan = plan([link.as_path()].into_iter());
        let real = std::fs::canonicalize(&real).unwrap();
        assert!(plan.directories.contains(&real));
        assert!(plan.names.contains(&OsString::from("secret-value")));
    }

    #[cfg(unix)]
    #[test]
    fn plan_skips_kubernetes_timestamped_directory() {
        let root = tempfile::tempdir().unwrap();
        let stamped = root.path().join("..2026_12_04_10_00_00.1");
        std::fs::create_dir_all(&stamped).unwrap();
        std::fs::write(stamped.join("api-secret"), "x").unwrap();
        std::os::unix::fs::symlink(&stamped, root.path().join("..data")).unwrap();
        let link = root.path().join("api-secret");
        std::os::unix::fs::symlink("..data/api-secret", &link).unwrap();

        let plan = plan([link.as_path()].into_iter());
        assert_eq!(plan.directories.len(), 1);
    }
}
