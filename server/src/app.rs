//! The application: configuration, database and services shared by every request.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::{Config, ConfigHandle};
use crate::error::Result;
use crate::hash::{Algorithm, Argon2Params, HashPool, HasherConfig};
use crate::http::metrics::Metrics;
use crate::identity::SchemaRegistry;
use crate::persistence::Persister;
use crate::persistence::pagination::PageTokens;
use crate::session::cache::SessionCache;

/// Cheap to clone; handlers receive one per request.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: ConfigHandle,
    pub db: Persister,
    pub metrics: Metrics,
    /// The identity schemas in force; swapped atomically on reload.
    pub schemas: SchemaRegistry,
    /// Password hashing and verification, bounded in concurrency and memory.
    pub hasher: HashPool,
    /// Active sessions for whoami, kept coherent with the database (`kratos_rs.session_cache`).
    pub session_cache: Arc<SessionCache>,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Connects to the database and builds every service. `dsn: memory` databases are migrated
    /// here, since they start empty with every process. Identity schemas are loaded and compiled
    /// here: one that cannot be is a start-up error naming it.
    pub async fn new(config: ConfigHandle) -> Result<App> {
        let cfg = config.get();
        let schemas = SchemaRegistry::from_config(&cfg).await?;
        let hasher = HashPool::new(hasher_config(&cfg))?;
        let db = Persister::connect(&cfg.dsn).await?;
        if cfg.dsn.trim() == "memory" {
            db.migrate_up().await?;
        }
        let session_cache = SessionCache::new();
        session_cache.start_listener(&db, &cfg.kratos_rs.session_cache);
        Ok(App(Arc::new(AppInner {
            config,
            db,
            metrics: Metrics::new(),
            schemas,
            hasher,
            session_cache,
        })))
    }

    /// The configuration in force now (it may be reloaded at any time).
    pub fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    pub fn page_tokens(&self) -> PageTokens {
        let cfg = self.config();
        if cfg.secrets.pagination.is_empty() {
            PageTokens::new(&cfg.secrets.default)
        } else {
            PageTokens::new(&cfg.secrets.pagination)
        }
    }
}

/// `hashers.*` as the hash module takes it.
pub fn hasher_config(cfg: &Config) -> HasherConfig {
    let a = &cfg.hashers.argon2;
    HasherConfig {
        algorithm: match cfg.hashers.algorithm {
            crate::config::HashAlgorithm::Argon2 => Algorithm::Argon2id,
            crate::config::HashAlgorithm::Bcrypt => Algorithm::Bcrypt,
        },
        argon2: Argon2Params {
            memory_kib: u32::try_from(a.memory.as_kib()).unwrap_or(u32::MAX),
            iterations: a.iterations,
            parallelism: a.effective_parallelism(),
            salt_length: a.salt_length,
            key_length: a.key_length,
        },
        bcrypt_cost: cfg.bcrypt_cost(),
        dedicated_memory_kib: a.dedicated_memory.as_kib(),
    }
}
