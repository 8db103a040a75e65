//! Kratos's configuration (`kratos.yml`): typed, validated, overridable by environment variables
//! and reloaded live.
//!
//! ```text
//! -c files (YAML/JSON/TOML) ──merge──▶ + environment ──▶ validate (all problems, with paths)
//!        ──▶ Config ──▶ ConfigHandle::get()            (atomic snapshot, arc-swap)
//!                         ▲   └─ subscribe()            (tokio watch, on every applied reload)
//!   file watcher ─reload──┘   └─ revision()             (GET /admin/health/config)
//! ```
//!
//! - `model.rs`, `selfservice.rs`, `hooks.rs`, `courier.rs`: the typed tree, Kratos's key names
//!   and defaults (one deliberate deviation: `hashers.algorithm` defaults to `argon2`).
//! - `schema.rs`: the JSON Schema generated from those types, and the validator.
//! - `env.rs`: environment variables as key overrides (`SERVE_PUBLIC_PORT`, `SECRETS_COOKIE_0`).
//! - `checks.rs`: rules spanning several keys; `not_yet_implemented.rs`: known Kratos keys we
//!   accept but ignore, with a warning.
//! - `load.rs`: the pipeline; `handle.rs`: the live handle; `watch.rs`: the file watcher.
//!
//! ```no_run
//! # async fn run() -> kratos::error::Result<()> {
//! use kratos::config::{ConfigHandle, Options};
//! let options = Options::from_process_env(vec!["kratos.yml".into()], false);
//! let (config, warnings) = ConfigHandle::load(options)?;
//! for warning in warnings {
//!     tracing::warn!("configuration: {warning}");
//! }
//! let _watch = config.watch()?; // keep alive while serving
//! let login_ui = config.get().selfservice.flows.login.ui_url.clone();
//! # let _ = login_ui;
//! # Ok(())
//! # }
//! ```

mod checks;
mod courier;
mod env;
mod handle;
mod hooks;
mod load;
mod model;
mod not_yet_implemented;
mod schema;
mod selfservice;
mod values;
mod watch;

#[cfg(test)]
mod tests;

pub use courier::*;
pub use handle::{ConfigHandle, ReloadOutcome, ReloadStatus};
pub use hooks::*;
pub use load::Options;
pub use model::*;
pub use not_yet_implemented::NOT_YET_IMPLEMENTED;
pub use selfservice::*;
pub use values::{
    ByteSize, GoDuration, OptionalBoolString, OptionalGoDuration, Sensitive, Untyped, UriRef,
    format_go_duration, parse_go_duration, redact_dsn,
};
pub use watch::WatchGuard;
