//! Reloading when configuration files change.
//!
//! The watcher observes the files' *directories*: editors replace files by renaming, and
//! Kubernetes swaps ConfigMap contents through a symlink, neither of which a watch on the file
//! itself survives. Any event there triggers a (debounced) re-read; unchanged content is skipped.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::handle::ConfigHandle;
use crate::error::{Error, Result};

/// Quiet time after the last file event before reloading: writes often come as several events.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Keeps the watcher running; dropping it stops watching.
pub struct WatchGuard {
    _watcher: Option<RecommendedWatcher>,
    task: Option<JoinHandle<()>>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl ConfigHandle {
    /// Watches the configuration files and reloads on change (see [`ConfigHandle::reload`]).
    /// Runs on the current tokio runtime until the returned guard is dropped. Without files
    /// (configuration from a value) there is nothing to watch and the guard is inert.
    pub fn watch(&self) -> Result<WatchGuard> {
        let files = self.files();
        if files.is_empty() {
            return Ok(WatchGuard {
                _watcher: None,
                task: None,
            });
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config("watching the configuration needs a tokio runtime".to_string())
        })?;

        let (events, mut received) = mpsc::unbounded_channel::<()>();
        let names = file_names(files);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                match event {
                    // Our own reads show up as access events; they change nothing.
                    Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
                    Ok(event) if !event.paths.iter().any(|path| concerns(&names, path)) => {}
                    Ok(_) => {
                        let _ = events.send(());
                    }
                    Err(err) => tracing::warn!(error = %err, "configuration file watcher error"),
                }
            })
            .map_err(|err| Error::Config(format!("cannot watch the configuration files: {err}")))?;
        for directory in directories(files) {
            watcher
                .watch(&directory, RecursiveMode::NonRecursive)
                .map_err(|err| {
                    Error::Config(format!("cannot watch {}: {err}", directory.display()))
                })?;
        }

        let handle = self.clone();
        let task = runtime.spawn(async move {
            while received.recv().await.is_some() {
                loop {
                    match tokio::time::timeout(DEBOUNCE, received.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_quiet) => break,
                    }
                }
                let handle = handle.clone();
                if let Err(err) = tokio::task::spawn_blocking(move || handle.reload()).await {
                    tracing::error!(error = %err, "configuration reload task failed");
                }
            }
        });
        Ok(WatchGuard {
            _watcher: Some(watcher),
            task: Some(task),
        })
    }
}

/// The names of the watched files (their directories are watched).
fn file_names(files: &[PathBuf]) -> BTreeSet<OsString> {
    files
        .iter()
        .filter_map(|file| file.file_name().map(OsStr::to_os_string))
        .collect()
}

/// Whether a change in a watched directory may concern the configuration: one of its files, or
/// the `..data` link Kubernetes swaps to update a mounted ConfigMap at once. Anything else there
/// (an SQLite database and its journal beside the configuration) would otherwise wake the reload
/// task on every write.
fn concerns(names: &BTreeSet<OsString>, path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| names.contains(name) || name.as_encoded_bytes().starts_with(b".."))
}

fn directories(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .map(|file| match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => Path::new(".").to_path_buf(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configuration_files_and_kubernetes_links_concern_the_watcher() {
        let names = file_names(&[PathBuf::from("/etc/kratos/kratos.yml")]);
        assert!(concerns(&names, Path::new("/etc/kratos/kratos.yml")));
        assert!(concerns(&names, Path::new("/etc/kratos/..data")));
        assert!(concerns(
            &names,
            Path::new("/etc/kratos/..2026_11_25_10_00_00.123")
        ));
        assert!(!concerns(&names, Path::new("/etc/kratos/db.sqlite-wal")));
        assert!(!concerns(&names, Path::new("/etc/kratos/kratos.yml.swp")));
    }
}
