//! Test harness: a fresh database per test on the backend chosen by `KRATOS_TEST_DATABASE`
//! (`sqlite` by default, `postgres`, `mysql`), and a real server on loopback ports.
//!
//! PostgreSQL and MySQL base URLs come from `KRATOS_TEST_POSTGRES_URL` /
//! `KRATOS_TEST_MYSQL_URL` (defaults match the CI machine). A backend that is selected but not
//! reachable fails the test loudly; nothing is skipped.

use std::sync::atomic::{AtomicUsize, Ordering};

use kratos::App;
use kratos::config::ConfigHandle;
use serde_json::Value;
use sqlx::Connection;

pub fn backend() -> String {
    std::env::var("KRATOS_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

fn postgres_base() -> String {
    std::env::var("KRATOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn mysql_base() -> String {
    std::env::var("KRATOS_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDb {
    pub dsn: String,
    drop_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    pub async fn new() -> TestDb {
        let name = format!(
            "kt_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        match backend().as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let dsn = format!(
                    "sqlite://{}/kratos.sqlite?_fk=true&mode=rwc",
                    dir.path().display()
                );
                TestDb {
                    dsn,
                    drop_name: None,
                    _dir: Some(dir),
                }
            }
            "memory" => TestDb {
                dsn: "memory".into(),
                drop_name: None,
                _dir: None,
            },
            "postgres" => {
                let admin = format!("{}/postgres", postgres_base());
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL selected but unreachable at {admin}: {e}")
                    });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                TestDb {
                    dsn: format!("{}/{name}?sslmode=disable", postgres_base()),
                    drop_name: Some(name),
                    _dir: None,
                }
            }
            "mysql" => {
                let admin = format!("{}/mysql", mysql_base());
                let mut c = sqlx::MySqlConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("MySQL selected but unreachable at {admin}: {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )))
                .execute(&mut c)
                .await
                .unwrap();
                TestDb {
                    dsn: format!("{}/{name}", mysql_base()),
                    drop_name: Some(name),
                    _dir: None,
                }
            }
            other => panic!("unknown KRATOS_TEST_DATABASE {other:?}"),
        }
    }
}

impl TestDb {
    /// Another handle on an existing database, e.g. for a second replica; dropping it drops
    /// nothing (the original handle must outlive it).
    pub fn shared(dsn: &str) -> TestDb {
        TestDb {
            dsn: dsn.to_string(),
            drop_name: None,
            _dir: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.drop_name.take() else {
            return;
        };
        let backend = backend();
        // Drop runs outside any runtime guarantee; use a small one on a helper thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                match backend.as_str() {
                    "postgres" => {
                        if let Ok(mut c) =
                            sqlx::PgConnection::connect(&format!("{}/postgres", postgres_base()))
                                .await
                        {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&mut c)
                            .await;
                        }
                    }
                    "mysql" => {
                        if let Ok(mut c) =
                            sqlx::MySqlConnection::connect(&format!("{}/mysql", mysql_base())).await
                        {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name}"
                            )))
                            .execute(&mut c)
                            .await;
                        }
                    }
                    _ => {}
                }
            })
        })
        .join();
    }
}

/// A running server with its own database.
pub struct TestServer {
    pub app: App,
    pub public_url: String,
    pub admin_url: String,
    #[allow(dead_code)] // keeps the database alive for the server's lifetime
    pub db: TestDb,
    running: Option<kratos::server::Running>,
}

pub const DEFAULT_SCHEMA: &str = r#"{
  "$id": "https://schemas.kratos-rs.test/default.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "minLength": 3,
          "maxLength": 320,
          "ory.sh/kratos": {
            "credentials": { "password": { "identifier": true }, "code": { "identifier": true, "via": "email" } },
            "verification": { "via": "email" },
            "recovery": { "via": "email" }
          }
        },
        "name": {
          "type": "object",
          "properties": { "first": { "type": "string", "title": "First name" }, "last": { "type": "string", "title": "Last name" } }
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}"#;

impl TestServer {
    /// Starts a server whose config is the test defaults deep-merged with `overrides` (YAML).
    pub async fn start(overrides: &str) -> TestServer {
        let db = TestDb::new().await;
        let dsn = db.dsn.clone();
        Self::start_on(overrides, db, dsn).await
    }

    /// Like [`TestServer::start`] on a given database, reached by the server through `server_dsn`
    /// (e.g. a proxy in front of it).
    pub async fn start_on(overrides: &str, db: TestDb, server_dsn: String) -> TestServer {
        let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("http://{}", public.local_addr().unwrap());
        let admin_url = format!("http://{}", admin.local_addr().unwrap());
        let schema = format!("base64://{}", base64_encode(DEFAULT_SCHEMA));
        let base = serde_json::json!({
            "dsn": server_dsn,
            "serve": {
                "public": { "base_url": format!("{public_url}/"), "host": "127.0.0.1", "port": public.local_addr().unwrap().port() },
                "admin": { "base_url": format!("{admin_url}/"), "host": "127.0.0.1", "port": admin.local_addr().unwrap().port() },
            },
            "secrets": { "default": ["a-secret-that-is-long-enough-for-tests"], "cookie": ["cookie-secret-long-enough-for-tests"] },
            "identity": { "default_schema_id": "default", "schemas": [{ "id": "default", "url": schema }] },
            "hashers": { "algorithm": "argon2", "argon2": { "memory": "1MB", "iterations": 1, "parallelism": 1 } },
            "selfservice": {
                "default_browser_return_url": "http://ui.test/",
                "allowed_return_urls": ["http://ui.test/"],
            },
        });
        let mut merged = base;
        if !overrides.trim().is_empty() {
            let over: Value = serde_yaml_ng::from_str(overrides).unwrap();
            merge(&mut merged, over);
        }
        let yaml = serde_yaml_ng::to_string(&merged).unwrap();
        let config = ConfigHandle::from_yaml(&yaml, true).unwrap();
        let app = App::new(config).await.unwrap();
        if db.dsn != "memory" {
            app.db.migrate_up().await.unwrap();
        }
        let running = kratos::server::start_on(app.clone(), public, admin)
            .await
            .unwrap();
        TestServer {
            app,
            public_url,
            admin_url,
            db,
            running: Some(running),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// An official SDK configuration for the admin API.
    pub fn admin_sdk(&self) -> ory_kratos_client::apis::configuration::Configuration {
        let mut c = ory_kratos_client::apis::configuration::Configuration::new();
        c.base_path = self.admin_url.clone();
        c
    }

    /// An official SDK configuration for the public API.
    pub fn public_sdk(&self) -> ory_kratos_client::apis::configuration::Configuration {
        let mut c = ory_kratos_client::apis::configuration::Configuration::new();
        c.base_path = self.public_url.clone();
        c
    }
}

pub fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Deep-merges `over` into `base` (objects merged, everything else replaced).
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A TCP proxy that can be cut and restored, to take a database away from a running server.
pub struct TcpProxy {
    pub addr: std::net::SocketAddr,
    target: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl TcpProxy {
    pub async fn start(target: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = TcpProxy {
            addr,
            target: target.to_string(),
            tasks: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Refuses new connections and drops every open one, as a crashed database would.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same address.
    pub async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}
