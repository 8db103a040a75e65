//! Integration tests against a real server on loopback and a real database
//! (`KRATOS_TEST_DATABASE=sqlite|postgres|mysql`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod cli;
mod courier;
mod csrf;
mod flowkit;
mod flows_login;
mod flows_registration;
mod flows_settings;
mod health;
mod identities;
mod identity_import;
mod import_cli;
mod newcomer;
mod outage;
mod password_policy;
mod persistence;
mod recovery;
mod schema_check;
mod schema_reload;
mod sessions;
mod verification;
mod whoami_cache;
