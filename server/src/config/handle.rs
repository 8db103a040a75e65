//! [`ConfigHandle`]: the live configuration. Readers take a cheap snapshot (`get()`); reloads swap
//! it atomically after validation, refuse changes to keys Kratos treats as immutable, and notify
//! subscribers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::load::{Built, Options, build, read_files};
use super::model::Config;
use crate::error::{Error, Result};

/// Keys whose changes need a restart (listeners, logger), as in Kratos; a reload changing them is
/// refused. `serve.public.cors.allowed_origins` is the exception Kratos makes.
const IMMUTABLE_KEYS: &[&str] = &["serve", "log"];
const MUTABLE_EXCEPTIONS: &[&[&str]] = &[&["serve", "public", "cors", "allowed_origins"]];

/// The live, validated configuration. Cloning is cheap; all clones see reloads.
#[derive(Clone)]
pub struct ConfigHandle {
    inner: Arc<Inner>,
}

struct Inner {
    current: ArcSwap<Snapshot>,
    changes: watch::Sender<Arc<Config>>,
    reloads: watch::Sender<ReloadStatus>,
    /// `None` for configurations built from a value in code: nothing to reload.
    source: Option<Options>,
    reload_state: Mutex<ReloadState>,
}

struct Snapshot {
    config: Arc<Config>,
    /// SHA-256 of the configuration as JSON.
    digest: String,
}

struct ReloadState {
    fingerprint: Option<[u8; 32]>,
    dev_secret: Option<String>,
}

/// What a reload attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new configuration is live.
    Applied { revision: String },
    /// The files did not change (or changed without effect).
    Unchanged,
    /// The new configuration is invalid; the previous one stays live.
    Invalid { problems: Vec<String> },
    /// The change touches a key that needs a restart; the previous configuration stays live.
    Immutable { key: String },
    /// The configuration was not loaded from files.
    NoFiles,
}

/// The latest reload attempt that was not [`ReloadOutcome::Unchanged`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    /// Reload attempts so far (applied or refused).
    pub attempts: u64,
    pub last: Option<ReloadOutcome>,
}

impl ConfigHandle {
    /// Loads the configuration from files and environment. Returns the warnings (keys not
    /// implemented, ignored keys, generated dev secret); the caller logs them.
    pub fn load(options: Options) -> Result<(ConfigHandle, Vec<String>)> {
        let files = read_files(&options.files).map_err(config_error)?;
        let built = build(files.merged, &options.env, options.dev, None).map_err(config_error)?;
        let warnings = built.warnings.clone();
        let handle = ConfigHandle::new(built, Some(options), Some(files.fingerprint));
        Ok((handle, warnings))
    }

    /// A configuration from a JSON value (tests, embedding). No environment is applied; warnings
    /// are logged.
    pub fn from_value(value: Value, dev: bool) -> Result<ConfigHandle> {
        let built = build(value, &Default::default(), dev, None).map_err(config_error)?;
        for warning in &built.warnings {
            tracing::warn!("configuration: {warning}");
        }
        Ok(ConfigHandle::new(built, None, None))
    }

    /// A configuration from YAML text, as [`ConfigHandle::from_value`].
    pub fn from_yaml(yaml: &str, dev: bool) -> Result<ConfigHandle> {
        let value = super::load::parse_file(std::path::Path::new("inline.yaml"), yaml.as_bytes())
            .map_err(|err| Error::Config(format!("inline YAML: {err}")))?;
        ConfigHandle::from_value(value, dev)
    }

    fn new(built: Built, source: Option<Options>, fingerprint: Option<[u8; 32]>) -> ConfigHandle {
        let snapshot = Snapshot::new(built.config);
        let (changes, _) = watch::channel(snapshot.config.clone());
        let (reloads, _) = watch::channel(ReloadStatus::default());
        ConfigHandle {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(snapshot),
                changes,
                reloads,
                source,
                reload_state: Mutex::new(ReloadState {
                    fingerprint,
                    dev_secret: built.generated_secret,
                }),
            }),
        }
    }

    /// The current configuration. Hold the `Arc` for the duration of one request or operation so
    /// it sees one consistent revision.
    pub fn get(&self) -> Arc<Config> {
        self.inner.current.load().config.clone()
    }

    /// What `GET /admin/health/config` returns: the `revision` key if set, else the hex SHA-256
    /// of the configuration as JSON. Changes with every applied reload (unless `revision` is set
    /// and left unchanged).
    pub fn revision(&self) -> String {
        let snapshot = self.inner.current.load();
        snapshot
            .config
            .revision
            .clone()
            .unwrap_or_else(|| snapshot.digest.clone())
    }

    /// Receives the new configuration after every applied reload.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.inner.changes.subscribe()
    }

    /// Receives the outcome of every reload attempt (applied or refused).
    pub fn reload_status(&self) -> watch::Receiver<ReloadStatus> {
        self.inner.reloads.subscribe()
    }

    /// The configuration files being used (empty when built from a value).
    pub fn files(&self) -> &[PathBuf] {
        self.inner
            .source
            .as_ref()
            .map_or(&[], |source| source.files.as_slice())
    }

    /// Re-reads the files and applies them if they are valid and change no immutable key.
    /// Blocking (file I/O); the watcher calls it off the async threads.
    pub fn reload(&self) -> ReloadOutcome {
        let Some(source) = &self.inner.source else {
            return ReloadOutcome::NoFiles;
        };
        if source.files.is_empty() {
            return ReloadOutcome::NoFiles;
        }
        let mut state = self
            .inner
            .reload_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let outcome = match read_files(&source.files) {
            Err(problems) => ReloadOutcome::Invalid { problems },
            Ok(files) if state.fingerprint == Some(files.fingerprint) => ReloadOutcome::Unchanged,
            Ok(files) => {
                state.fingerprint = Some(files.fingerprint);
                match build(
                    files.merged,
                    &source.env,
                    source.dev,
                    state.dev_secret.as_deref(),
                ) {
                    Err(problems) => ReloadOutcome::Invalid { problems },
                    Ok(built) => {
                        if built.generated_secret.is_some() {
                            state.dev_secret = built.generated_secret.clone();
                        }
                        self.apply(built)
                    }
                }
            }
        };
        drop(state);
        self.report(&outcome);
        outcome
    }

    fn apply(&self, built: Built) -> ReloadOutcome {
        let current = self.inner.current.load_full();
        let next = Snapshot::new(built.config);
        if next.digest == current.digest {
            return ReloadOutcome::Unchanged;
        }
        if let Some(key) = changed_immutable_key(&current.config, &next.config) {
            return ReloadOutcome::Immutable { key };
        }
        for warning in &built.warnings {
            tracing::warn!("configuration: {warning}");
        }
        let config = next.config.clone();
        self.inner.current.store(Arc::new(next));
        self.inner.changes.send_replace(config);
        ReloadOutcome::Applied {
            revision: self.revision(),
        }
    }

    fn report(&self, outcome: &ReloadOutcome) {
        match outcome {
            ReloadOutcome::Unchanged | ReloadOutcome::NoFiles => return,
            ReloadOutcome::Applied { revision } => {
                tracing::info!(revision = %revision, "configuration reloaded");
            }
            ReloadOutcome::Invalid { problems } => tracing::error!(
                revision = %self.revision(),
                "the changed configuration is invalid and was not applied; keeping the previous revision:\n  {}",
                problems.join("\n  ")
            ),
            ReloadOutcome::Immutable { key } => tracing::warn!(
                key = %key,
                revision = %self.revision(),
                "configuration key {key} cannot change while running; the change was not applied (restart to apply it)"
            ),
        }
        self.inner.reloads.send_modify(|status| {
            status.attempts += 1;
            status.last = Some(outcome.clone());
        });
    }
}

impl std::fmt::Debug for ConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle")
            .field("revision", &self.revision())
            .field("files", &self.files())
            .finish()
    }
}

impl Snapshot {
    fn new(config: Config) -> Snapshot {
        // Serialising our own types to JSON cannot fail (string keys, no non-finite floats).
        let json = serde_json::to_vec(&config).unwrap_or_default();
        Snapshot {
            config: Arc::new(config),
            digest: hex::encode(Sha256::digest(&json)),
        }
    }
}

/// The first immutable key (as a dotted path to the changed value) that differs.
fn changed_immutable_key(old: &Config, new: &Config) -> Option<String> {
    let (mut old, mut new) = (
        serde_json::to_value(old).ok()?,
        serde_json::to_value(new).ok()?,
    );
    for exception in MUTABLE_EXCEPTIONS {
        remove_path(&mut old, exception);
        remove_path(&mut new, exception);
    }
    IMMUTABLE_KEYS.iter().find_map(|key| {
        first_difference(old.get(*key), new.get(*key)).map(|rest| {
            if rest.is_empty() {
                key.to_string()
            } else {
                format!("{key}.{rest}")
            }
        })
    })
}

fn remove_path(value: &mut Value, path: &[&str]) {
    if let Some((last, parents)) = path.split_last() {
        let parent = parents
            .iter()
            .try_fold(value, |node, key| node.get_mut(*key));
        if let Some(Value::Object(map)) = parent {
            map.remove(*last);
        }
    }
}

/// The dotted path (relative) of the first difference, `Some("")` when the values differ as a
/// whole, `None` when equal.
fn first_difference(old: Option<&Value>, new: Option<&Value>) -> Option<String> {
    match (old, new) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            keys.into_iter().find_map(|key| {
                first_difference(old.get(key), new.get(key)).map(|rest| {
                    if rest.is_empty() {
                        key.clone()
                    } else {
                        format!("{key}.{rest}")
                    }
                })
            })
        }
        (old, new) if old == new => None,
        _ => Some(String::new()),
    }
}

fn config_error(problems: Vec<String>) -> Error {
    let count = problems.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    Error::Config(format!("{count} {noun}:\n  {}", problems.join("\n  ")))
}
