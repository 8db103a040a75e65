//! Persistence on SQLite, PostgreSQL and MySQL/MariaDB through sqlx.
//!
//! Each backend keeps its native types (UUID, timestamps) and its own migrations. Queries are
//! written once with `?` placeholders and run on whichever backend is configured: the [`on!`]
//! macro instantiates the query code for each backend's connection type, and [`sql!`] rewrites
//! placeholders to `$n` for PostgreSQL once per call site.
//!
//! Rules for repository code:
//! - reads take a [`Conn`] from [`Persister::conn`]; multi-row writes run in a [`Tx`] from
//!   [`Persister::begin`] (SQLite transactions use `BEGIN IMMEDIATE`, so concurrent writers queue on
//!   the busy timeout instead of failing on lock upgrades);
//! - JSON is stored as text; unique violations are mapped to 409 by the error layer.

mod dsn;
pub mod migrate;
pub mod pagination;

pub mod courier;
pub mod flows;
pub mod identities;
pub mod one_time;
pub mod sessions;

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{MySql, MySqlPool, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::Result;

pub use dsn::Backend;

/// The configured database.
#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// A connection from the pool, or the connection of an open transaction, borrowed for a query.
pub enum Conn<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Postgres(&'c mut sqlx::PgConnection),
    MySql(&'c mut sqlx::MySqlConnection),
}

impl Conn<'_> {
    /// Reborrows for the next query.
    pub fn re(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
            Conn::MySql(c) => Conn::MySql(c),
        }
    }
}

/// A pooled connection held for several queries.
pub enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
    MySql(PoolConnection<MySql>),
}

impl Pooled {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
            Pooled::MySql(c) => Conn::MySql(c),
        }
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(c) => Conn::Sqlite(c),
            Tx::Postgres(c) => Conn::Postgres(c),
            Tx::MySql(c) => Conn::MySql(c),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
            Tx::MySql(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Placeholder dialects: SQLite and MySQL take `?`, PostgreSQL `$1, $2, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Question,
    Dollar,
}

/// Rewrites `?` placeholders to `$n`. Queries must not contain `?` inside string literals.
pub fn to_dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A static query in the right placeholder dialect, converted once per call site.
#[macro_export]
macro_rules! sql {
    ($dialect:expr, $q:expr) => {{
        static DOLLAR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        match $dialect {
            $crate::persistence::Dialect::Dollar => DOLLAR
                .get_or_init(|| $crate::persistence::to_dollar_placeholders($q))
                .as_str(),
            $crate::persistence::Dialect::Question => $q,
        }
    }};
}

/// Runs `$body` with `$c` bound to the backend's concrete connection and `$d` to its dialect.
/// The body is compiled once per backend, so sqlx's typed encode/decode applies to each.
#[macro_export]
macro_rules! on {
    ($conn:expr, |$c:ident, $d:ident| $body:expr) => {
        match $conn {
            $crate::persistence::Conn::Sqlite($c) => {
                #[allow(unused_variables)]
                let $d = $crate::persistence::Dialect::Question;
                $body
            }
            $crate::persistence::Conn::Postgres($c) => {
                #[allow(unused_variables)]
                let $d = $crate::persistence::Dialect::Dollar;
                $body
            }
            $crate::persistence::Conn::MySql($c) => {
                #[allow(unused_variables)]
                let $d = $crate::persistence::Dialect::Question;
                $body
            }
        }
    };
}

pub use crate::{on, sql};

/// The database handle: a pool plus the operations every repository needs.
#[derive(Clone)]
pub struct Persister {
    pool: Pool,
}

impl Persister {
    /// Connects to `dsn` (Kratos's formats: `memory`, `sqlite://…`, `postgres://…`,
    /// `cockroach://…`, `mysql://…` including the Go driver's `user:pass@tcp(host:port)/db`).
    pub async fn connect(dsn: &str) -> Result<Self> {
        let pool = dsn::connect(dsn).await?;
        Ok(Persister { pool })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
            Pool::MySql(_) => Backend::MySql,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub async fn conn(&self) -> Result<Pooled> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Pooled::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Pooled::Postgres(p.acquire().await?),
            Pool::MySql(p) => Pooled::MySql(p.acquire().await?),
        })
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
            Pool::MySql(p) => Tx::MySql(p.begin().await?),
        })
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<()> {
        let fut = async {
            let mut c = self.conn().await?;
            on!(c.conn(), |c, d| {
                sqlx::query("SELECT 1").execute(&mut *c).await?;
            });
            Ok::<(), crate::error::Error>(())
        };
        match tokio::time::timeout(Duration::from_secs(2), fut).await {
            Ok(res) => res,
            Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

/// Timestamps are stored with microsecond precision, which all three backends keep exactly.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_micros(chrono::Utc::now())
}

pub fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Timelike};
    let t = t.trunc_subsecs(6);
    debug_assert!(t.nanosecond().is_multiple_of(1000));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            to_dollar_placeholders("SELECT a FROM t WHERE x = ? AND y IN (?, ?)"),
            "SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)"
        );
    }
}
