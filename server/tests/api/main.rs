//! Integration tests against a real server on loopback and a real database
//! (`KRATOS_TEST_DATABASE=sqlite|postgres|mysql`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod cli;
mod health;
mod outage;
mod persistence;
mod schema_check;
