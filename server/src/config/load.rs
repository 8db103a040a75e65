//! From files and environment to a validated [`Config`]: read the `-c` files (YAML, JSON or TOML)
//! and deep-merge them in order, apply environment overrides, then validate and report every
//! problem at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::checks;
use super::env::{apply_env, merge};
use super::model::Config;
use super::not_yet_implemented;
use super::schema::{Problem, validate_config};

/// Where the configuration comes from.
#[derive(Clone, Default)]
pub struct Options {
    /// `-c` files, merged in order (later files win; arrays are replaced, not concatenated).
    pub files: Vec<PathBuf>,
    /// The `--dev` flag.
    pub dev: bool,
    /// Environment variables to apply (normally the process environment, see
    /// [`Options::from_process_env`]; tests pass their own).
    pub env: BTreeMap<String, String>,
}

impl Options {
    /// Options reading the process environment.
    pub fn from_process_env(files: Vec<PathBuf>, dev: bool) -> Self {
        // Non-UTF-8 variables cannot name a key; skip them rather than fail.
        let env = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Options { files, dev, env }
    }
}

impl std::fmt::Debug for Options {
    /// Environment values are left out: they include secrets (`DSN`, `SECRETS_DEFAULT`, ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("files", &self.files)
            .field("dev", &self.dev)
            .field("env", &format_args!("[{} variables]", self.env.len()))
            .finish()
    }
}

/// The raw content of the configuration files, as last read.
pub(crate) struct FileContents {
    pub merged: Value,
    /// Digest of all files' bytes, to skip reloads when nothing changed.
    pub fingerprint: [u8; 32],
}

/// Reads and merges the files. Every unreadable or unparsable file is reported.
pub(crate) fn read_files(files: &[PathBuf]) -> Result<FileContents, Vec<String>> {
    let mut merged = Value::Object(Map::new());
    let mut hasher = Sha256::new();
    let mut problems = Vec::new();
    for path in files {
        let parsed = std::fs::read(path)
            .map_err(|err| format!("{}: cannot read ({err})", path.display()))
            .and_then(|bytes| {
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
                parse_file(path, &bytes).map_err(|err| format!("{}: {err}", path.display()))
            });
        match parsed {
            Ok(value) => merge(&mut merged, value),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(FileContents {
            merged,
            fingerprint: hasher.finalize().into(),
        })
    } else {
        Err(problems)
    }
}

/// Parses one file by its extension, as Kratos does (`.yaml`/`.yml`, `.json`, `.toml`).
pub(crate) fn parse_file(path: &Path, bytes: &[u8]) -> Result<Value, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let value = match extension.as_str() {
        "yaml" | "yml" => {
            let mut yaml: serde_yaml_ng::Value =
                serde_yaml_ng::from_slice(bytes).map_err(|err| format!("invalid YAML ({err})"))?;
            // YAML merge keys (`<<: *defaults`), which Kratos's YAML parser applies.
            yaml.apply_merge()
                .map_err(|err| format!("invalid YAML ({err})"))?;
            serde_json::to_value(yaml).map_err(|err| format!("unsupported YAML ({err})"))?
        }
        "json" => serde_json::from_slice(bytes).map_err(|err| format!("invalid JSON ({err})"))?,
        "toml" => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| "invalid TOML (not UTF-8)".to_string())?;
            toml::from_str(text).map_err(|err| format!("invalid TOML ({err})"))?
        }
        other => {
            return Err(format!(
                "unknown config file extension {other:?} (use .yaml, .yml, .json or .toml)"
            ));
        }
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err("the top level must be a mapping of keys".to_string()),
    }
}

/// Kratos's dev-mode switch for API flow enforcement (an environment variable, not a key).
const DISABLE_API_FLOW_ENFORCEMENT: &str = "DEV_DISABLE_API_FLOW_ENFORCEMENT";

/// A validated configuration.
pub(crate) struct Built {
    pub config: Config,
    pub warnings: Vec<String>,
    /// The `secrets.default` generated in dev mode, to reuse on reloads.
    pub generated_secret: Option<String>,
}

/// Validates `input` (the merged files, or a value from code) with `env` applied. `dev_secret`
/// is a previously generated dev-mode secret to keep sessions valid across reloads.
pub(crate) fn build(
    mut input: Value,
    env: &BTreeMap<String, String>,
    dev: bool,
    dev_secret: Option<&str>,
) -> Result<Built, Vec<String>> {
    let mut errors: Vec<Problem> = apply_env(&mut input, env);
    if dev {
        // Kratos's `--dev` flag sets the `dev` key.
        set_key(&mut input, "dev", Value::Bool(true));
    }
    strip_nulls(&mut input);
    let is_dev = input.get("dev").and_then(Value::as_bool).unwrap_or(false);

    let mut warnings = not_yet_implemented::key_warnings(&input);
    let generated_secret = match ensure_default_secret(&mut input, is_dev, dev_secret) {
        Ok(generated) => generated,
        Err(problem) => {
            errors.push(problem);
            None
        }
    };
    if generated_secret.is_some() {
        warnings.push(
            "secrets.default: not set; using a random secret for this process (dev mode only: \
             sessions and flows do not survive a restart and are not shared between replicas)"
                .to_string(),
        );
    }

    let report = validate_config(&mut input);
    errors.extend(report.errors);
    warnings.extend(report.ignored.iter().map(ToString::to_string));
    if !errors.is_empty() {
        return Err(errors.iter().map(ToString::to_string).collect());
    }

    let mut config: Config = serde_path_to_error::deserialize(input).map_err(|err| {
        // The validator should have caught this; report it the same way regardless.
        vec![format!("{}: {}", err.path(), err.inner())]
    })?;
    if config.is_dev() && env.get(DISABLE_API_FLOW_ENFORCEMENT).map(String::as_str) == Some("true")
    {
        config.api_flow_enforcement_disabled = true;
        warnings.push(format!(
            "{DISABLE_API_FLOW_ENFORCEMENT}=true in dev mode: self-service API flows no longer \
             check that the client is not a browser, which bypasses CSRF protection; only for \
             automated tests"
        ));
    }
    let (semantic_errors, semantic_warnings) = checks::check(&config);
    if !semantic_errors.is_empty() {
        return Err(semantic_errors.iter().map(ToString::to_string).collect());
    }
    warnings.extend(semantic_warnings);
    warnings.extend(not_yet_implemented::hook_warnings(&config));
    Ok(Built {
        config,
        warnings,
        generated_secret,
    })
}

/// Kratos falls back to a random per-process `secrets.default`, which silently breaks sessions
/// across restarts and replicas. We require it, except in dev mode where we generate one.
fn ensure_default_secret(
    input: &mut Value,
    is_dev: bool,
    previous: Option<&str>,
) -> Result<Option<String>, Problem> {
    let present = input
        .get("secrets")
        .and_then(|secrets| secrets.get("default"))
        .is_some_and(|default| default.as_array().is_none_or(|items| !items.is_empty()));
    if present {
        return Ok(None);
    }
    if !is_dev {
        return Err(Problem::new(
            "secrets.default",
            "missing required key: set at least one secret of 16 or more characters \
             (Kratos would use a random per-process secret, which breaks sessions across \
             restarts and replicas; only --dev allows that)",
        ));
    }
    let secret = previous.map(str::to_string).unwrap_or_else(random_secret);
    let secrets = input.as_object_mut().map(|root| {
        root.entry("secrets")
            .or_insert_with(|| Value::Object(Map::new()))
    });
    match secrets {
        Some(Value::Object(secrets)) => {
            secrets.insert(
                "default".to_string(),
                Value::Array(vec![Value::String(secret.clone())]),
            );
            Ok(Some(secret))
        }
        // `secrets` is not an object: validation reports that.
        _ => Ok(None),
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    hex::encode(bytes)
}

fn set_key(input: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = input {
        map.insert(key.to_string(), value);
    }
}

/// Treats `key: null` (e.g. an empty YAML key) as an unset key.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, item| !item.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
