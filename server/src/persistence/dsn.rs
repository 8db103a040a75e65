//! Turning Kratos's DSN formats into sqlx pools.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Executor};

use super::Pool;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

/// Pool settings Kratos accepts as DSN query parameters (from gobuffalo/pop), removed from the DSN
/// before it reaches the driver.
#[derive(Debug, Default)]
struct PoolParams {
    max_conns: Option<u32>,
    max_idle_conns: Option<u32>,
    max_conn_lifetime: Option<Duration>,
    max_conn_idle_time: Option<Duration>,
}

const POOL_KEYS: &[&str] = &[
    "max_conns",
    "max_idle_conns",
    "max_conn_lifetime",
    "max_conn_idle_time",
];

fn split_pool_params(url: &mut url::Url) -> Result<PoolParams> {
    let mut params = PoolParams::default();
    let mut kept = Vec::new();
    for (k, v) in url.query_pairs() {
        let (k, v) = (k.into_owned(), v.into_owned());
        let bad = || Error::Config(format!("dsn: invalid value for {k}: {v:?}"));
        match k.as_str() {
            "max_conns" => params.max_conns = Some(v.parse().map_err(|_| bad())?),
            "max_idle_conns" => params.max_idle_conns = Some(v.parse().map_err(|_| bad())?),
            "max_conn_lifetime" => {
                params.max_conn_lifetime = Some(parse_go_duration(&v).ok_or_else(bad)?)
            }
            "max_conn_idle_time" => {
                params.max_conn_idle_time = Some(parse_go_duration(&v).ok_or_else(bad)?)
            }
            _ => kept.push((k, v)),
        }
    }
    debug_assert!(POOL_KEYS.len() == 4);
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(params)
}

fn parse_go_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))?;
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// How long a request waits for a connection before failing with 503: short, so that a lost
/// database surfaces quickly and clearly instead of piling up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a pooled connection may sit idle before it is pinged on its next use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Pool options shared by every backend. sqlx pings each connection it hands out, one more round
/// trip (a database process woken on a busy machine) per query; here only a connection that sat
/// idle for [`PING_AFTER_IDLE`] is checked, where a restarted or unreachable database shows. A
/// connection that breaks in use fails its request cleanly (503) and is dropped.
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

pub async fn connect(dsn: &str) -> Result<Pool> {
    let dsn = dsn.trim();
    if dsn == "memory" || dsn.starts_with("sqlite://file::memory:") || dsn == "sqlite::memory:" {
        return connect_memory().await;
    }
    let (scheme, _) = dsn.split_once("://").ok_or_else(|| {
        Error::Config(format!(
            "dsn: unsupported format (expected scheme://...): {}",
            redact(dsn)
        ))
    })?;
    match scheme {
        "sqlite" | "sqlite3" => connect_sqlite(dsn).await,
        "postgres" | "postgresql" | "cockroach" | "cockroachdb" | "crdb" => {
            connect_postgres(dsn).await
        }
        "mysql" => connect_mysql(dsn).await,
        other => Err(Error::Config(format!(
            "dsn: unsupported database {other:?}; use sqlite, postgres, cockroach or mysql"
        ))),
    }
}

/// `dsn: memory` is one private in-memory database per process: a single connection, which keeps
/// the database alive and avoids shared-cache table locks.
async fn connect_memory() -> Result<Pool> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = pool_options::<sqlx::Sqlite>()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    Ok(Pool::Sqlite(pool))
}

async fn connect_sqlite(dsn: &str) -> Result<Pool> {
    let mut url = url::Url::parse(&dsn.replacen("sqlite3://", "sqlite://", 1))
        .map_err(|e| Error::Config(format!("dsn: {e}")))?;
    let params = split_pool_params(&mut url)?;
    // `sqlite:///var/lib/db.sqlite` is absolute, `sqlite://./db.sqlite` relative.
    let path = match url.host_str() {
        Some(host) if !host.is_empty() => format!("{host}{}", url.path()),
        _ => url.path().to_string(),
    };
    let path = percent_encoding::percent_decode_str(&path)
        .decode_utf8_lossy()
        .into_owned();
    if path.contains(":memory:") {
        return connect_memory().await;
    }
    let mut read_only = false;
    for (k, v) in url.query_pairs() {
        // Go driver flags (`_fk`, `_journal_mode`, ...) are accepted: we always enable foreign keys
        // and WAL. Only the open mode matters.
        if k == "mode" && v == "ro" {
            read_only = true;
        }
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(!read_only)
        .read_only(read_only)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    if !read_only {
        // Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
        // locked" at once (no busy wait) when the pool's first connections race for it. One
        // connection makes the switch, which is persistent, before the pool opens the others.
        use sqlx::{ConnectOptions, Connection};
        options.connect().await?.close().await?;
    }
    let pool = pool_options::<sqlx::Sqlite>()
        .max_connections(params.max_conns.unwrap_or(8))
        .min_connections(
            params
                .max_idle_conns
                .unwrap_or(1)
                .min(params.max_conns.unwrap_or(8)),
        )
        .max_lifetime(params.max_conn_lifetime)
        .idle_timeout(params.max_conn_idle_time)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    Ok(Pool::Sqlite(pool))
}

async fn connect_postgres(dsn: &str) -> Result<Pool> {
    let (cockroach, normalised) = match dsn.split_once("://") {
        Some(("cockroach" | "cockroachdb" | "crdb", rest)) => (true, format!("postgres://{rest}")),
        _ => (false, dsn.to_string()),
    };
    let mut url = url::Url::parse(&normalised).map_err(|e| Error::Config(format!("dsn: {e}")))?;
    let params = split_pool_params(&mut url)?;
    let mut options =
        PgConnectOptions::from_url(&url)?.log_statements(tracing::log::LevelFilter::Trace);
    if !cockroach {
        // PostgreSQL: parallel query only adds latency to this server's small lookups; a page of
        // identities' addresses (a UNION of two index scans) was planned with two workers at 100k
        // identities and took 9 ms instead of 1.
        options = options.options([("max_parallel_workers_per_gather", "0")]);
    }
    let pool = pool_options::<sqlx::Postgres>()
        .max_connections(params.max_conns.unwrap_or_else(default_max_conns))
        .min_connections(0)
        .max_lifetime(
            params
                .max_conn_lifetime
                .or(Some(Duration::from_secs(30 * 60))),
        )
        .idle_timeout(
            params
                .max_conn_idle_time
                .or(Some(Duration::from_secs(10 * 60))),
        )
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(Pool::Postgres(pool))
}

async fn connect_mysql(dsn: &str) -> Result<Pool> {
    let mut url =
        url::Url::parse(&go_mysql_to_url(dsn)).map_err(|e| Error::Config(format!("dsn: {e}")))?;
    let params = split_pool_params(&mut url)?;
    // Go driver options without meaning here.
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            !matches!(
                k.as_ref(),
                "parseTime" | "multiStatements" | "loc" | "collation"
            )
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let options = MySqlConnectOptions::from_url(&url)?
        .timezone(Some(String::from("+00:00")))
        .charset("utf8mb4")
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = pool_options::<sqlx::MySql>()
        .max_connections(params.max_conns.unwrap_or_else(default_max_conns))
        .min_connections(0)
        .max_lifetime(
            params
                .max_conn_lifetime
                .or(Some(Duration::from_secs(30 * 60))),
        )
        .idle_timeout(
            params
                .max_conn_idle_time
                .or(Some(Duration::from_secs(10 * 60))),
        )
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
                    .await?;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    Ok(Pool::MySql(pool))
}

fn default_max_conns() -> u32 {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2) as u32;
    (cpus * 4).max(8)
}

/// Go's MySQL driver DSN (`user:pass@tcp(host:3306)/db?x=y`, as Kratos documents it) to a URL.
fn go_mysql_to_url(dsn: &str) -> String {
    let Some(rest) = dsn.strip_prefix("mysql://") else {
        return dsn.to_string();
    };
    match (rest.find("@tcp("), rest.find(")/")) {
        (Some(at), Some(close)) if close > at => {
            let creds = &rest[..at];
            let host = &rest[at + 5..close];
            let tail = &rest[close + 1..];
            format!("mysql://{creds}@{host}{tail}")
        }
        _ => match (rest.strip_prefix("tcp("), rest.find(")/")) {
            (Some(_), Some(close)) => format!("mysql://{}{}", &rest[4..close], &rest[close + 1..]),
            _ => dsn.to_string(),
        },
    }
}

/// The DSN with its password replaced, for messages and logs.
pub fn redact(dsn: &str) -> String {
    match url::Url::parse(dsn) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("xxxxx"));
            url.to_string()
        }
        Ok(_) => dsn.to_string(),
        Err(_) => match (dsn.find("://"), dsn.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}://xxxxx{}", &dsn[..s], &dsn[at..]),
            _ => dsn.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn postgres_sessions_run_without_parallel_query_and_keep_the_dsn_options() {
        let options = |pool: Pool| match pool {
            Pool::Postgres(p) => p.connect_options().get_options().map(str::to_string),
            _ => panic!("not PostgreSQL"),
        };
        let pg =
            connect_postgres("postgres://u@db.example/kratos?options=-c%20statement_timeout%3D5s")
                .await
                .unwrap();
        assert_eq!(
            options(pg).as_deref(),
            Some("-c statement_timeout=5s -c max_parallel_workers_per_gather=0")
        );
        let crdb = connect_postgres("cockroach://u@db.example/kratos")
            .await
            .unwrap();
        assert_eq!(options(crdb), None);
    }

    #[test]
    fn go_mysql_dsn() {
        assert_eq!(
            go_mysql_to_url("mysql://root:secret@tcp(mysqld:3306)/mysql?parseTime=true"),
            "mysql://root:secret@mysqld:3306/mysql?parseTime=true"
        );
        assert_eq!(
            go_mysql_to_url("mysql://root@127.0.0.1:3306/test"),
            "mysql://root@127.0.0.1:3306/test"
        );
    }

    #[test]
    fn pool_params_are_taken_out() {
        let mut url = url::Url::parse("postgres://u:p@h/db?sslmode=disable&max_conns=20&max_idle_conns=4&max_conn_lifetime=1m").unwrap();
        let p = split_pool_params(&mut url).unwrap();
        assert_eq!(p.max_conns, Some(20));
        assert_eq!(p.max_idle_conns, Some(4));
        assert_eq!(p.max_conn_lifetime, Some(Duration::from_secs(60)));
        assert_eq!(url.query(), Some("sslmode=disable"));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://user:hunter2@db:5432/kratos"),
            "postgres://user:xxxxx@db:5432/kratos"
        );
        assert!(!redact("mysql://root:hunter2@tcp(db:3306)/k").contains("hunter2"));
    }
}
