//! Embedded, append-only migrations, one set per backend (`server/migrations/<backend>/`).
//! Applied migrations are recorded with their checksums: editing an applied migration is refused.

use sqlx::migrate::{Migrate, Migrator};

use super::{Persister, Pool};
use crate::error::{Error, Result};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");
static MYSQL: Migrator = sqlx::migrate!("./migrations/mysql");

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    pub version: i64,
    pub name: String,
    pub applied: bool,
}

fn migration_error(err: sqlx::migrate::MigrateError) -> Error {
    match err {
        sqlx::migrate::MigrateError::Execute(e) => Error::Database(e),
        other => Error::Internal(format!("migration: {other}")),
    }
}

impl Persister {
    fn migrator(&self) -> &'static Migrator {
        match self.pool() {
            Pool::Sqlite(_) => &SQLITE,
            Pool::Postgres(_) => &POSTGRES,
            Pool::MySql(_) => &MYSQL,
        }
    }

    /// Applies all pending migrations. Safe to run concurrently from several replicas: sqlx takes
    /// an advisory lock on PostgreSQL and MySQL.
    pub async fn migrate_up(&self) -> Result<()> {
        let m = self.migrator();
        match self.pool() {
            Pool::Sqlite(p) => m.run(p).await,
            Pool::Postgres(p) => m.run(p).await,
            Pool::MySql(p) => m.run(p).await,
        }
        .map_err(migration_error)
    }

    /// Reverts the last `steps` applied migrations.
    pub async fn migrate_down(&self, steps: usize) -> Result<Vec<MigrationStatus>> {
        let status = self.migration_status().await?;
        let applied: Vec<&MigrationStatus> = status.iter().filter(|s| s.applied).collect();
        if steps == 0 || applied.is_empty() {
            return Ok(vec![]);
        }
        let keep = applied.len().saturating_sub(steps);
        let target = if keep == 0 {
            0
        } else {
            applied[keep - 1].version
        };
        let reverted: Vec<MigrationStatus> = applied[keep..].iter().map(|s| (*s).clone()).collect();
        let m = self.migrator();
        match self.pool() {
            Pool::Sqlite(p) => m.undo(p, target).await,
            Pool::Postgres(p) => m.undo(p, target).await,
            Pool::MySql(p) => m.undo(p, target).await,
        }
        .map_err(migration_error)?;
        Ok(reverted)
    }

    /// Every embedded migration and whether it is applied.
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>> {
        let applied: Vec<i64> = {
            let mut pooled = self.conn().await?;
            let table = &self.migrator().table_name;
            let list = match pooled.conn() {
                super::Conn::Sqlite(c) => applied_versions(c, table).await,
                super::Conn::Postgres(c) => applied_versions(c, table).await,
                super::Conn::MySql(c) => applied_versions(c, table).await,
            };
            list?
        };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| MigrationStatus {
                version: m.version,
                name: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect())
    }

    /// Whether the database has every embedded migration applied (checked at start).
    pub async fn is_migrated(&self) -> Result<bool> {
        Ok(self.migration_status().await?.iter().all(|m| m.applied))
    }
}

async fn applied_versions<C: Migrate>(conn: &mut C, table: &str) -> Result<Vec<i64>> {
    conn.ensure_migrations_table(table)
        .await
        .map_err(migration_error)?;
    let applied = conn
        .list_applied_migrations(table)
        .await
        .map_err(migration_error)?;
    Ok(applied.into_iter().map(|a| a.version).collect())
}
