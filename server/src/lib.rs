//! kratos-rs: an identity server API-compatible with Ory Kratos.
//!
//! A request enters through [`http::server`], is matched by the [`routes`] table to a handler in
//! the module owning the feature (`identity`, `session`, `selfservice::…`), which reads the live
//! [`config`], talks to the database through [`persistence`], and returns a response or an
//! [`error::Error`] that the HTTP layer renders in Kratos's JSON error shape.

pub mod app;
pub mod cli;
pub mod config;
pub mod courier;
pub mod error;
pub mod hash;
pub mod health;
pub mod http;
pub mod identity;
pub mod logging;
pub mod persistence;
pub mod routes;
pub mod selfservice;
pub mod server;
pub mod session;
pub mod text;
pub mod ui;

pub use app::App;
pub use error::{Error, Result};

/// The server's version, reported by `/version` and `kratos version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
