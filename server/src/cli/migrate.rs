//! `kratos migrate sql [up|down|status]`, with Kratos's flags (`-e`, `--yes`, `--steps`).

use std::io::{BufRead, Write};

use crate::config::ConfigHandle;
use crate::error::{Error, Result};
use crate::persistence::Persister;

#[derive(clap::Subcommand, Debug)]
pub enum MigrateCommand {
    /// Create SQL schemas and apply migration plans (same as `sql up`).
    Sql(SqlArgs),
}

#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    #[command(subcommand)]
    action: Option<SqlAction>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Debug, Clone)]
struct Common {
    /// The database URL; alternatively use `-e`.
    database_url: Option<String>,
    /// Read the database URL from the environment variable DSN or the config file key `dsn`.
    #[arg(short = 'e', long = "read-from-env", global = true)]
    read_from_env: bool,
    /// Accept all confirmation requests without user interaction.
    #[arg(short = 'y', long, global = true)]
    yes: bool,
    #[command(flatten)]
    config: super::ConfigArgs,
}

#[derive(clap::Subcommand, Debug)]
enum SqlAction {
    /// Apply all pending migrations.
    Up(Common),
    /// Roll back the last applied migrations.
    Down {
        #[command(flatten)]
        common: Common,
        /// The number of migrations to roll back.
        #[arg(long, default_value_t = 0)]
        steps: usize,
    },
    /// Display the current migration status.
    Status(Common),
}

pub async fn run(cmd: MigrateCommand) -> Result<()> {
    let MigrateCommand::Sql(args) = cmd;
    match args.action {
        None => up(merge(&args.common, &args.common)).await,
        Some(SqlAction::Up(c)) => up(merge(&args.common, &c)).await,
        Some(SqlAction::Down { common, steps }) => down(merge(&args.common, &common), steps).await,
        Some(SqlAction::Status(c)) => status(merge(&args.common, &c)).await,
    }
}

fn merge(outer: &Common, inner: &Common) -> Common {
    Common {
        database_url: inner
            .database_url
            .clone()
            .or_else(|| outer.database_url.clone()),
        read_from_env: inner.read_from_env || outer.read_from_env,
        yes: inner.yes || outer.yes,
        config: if inner.config.config.is_empty() {
            outer.config.clone()
        } else {
            inner.config.clone()
        },
    }
}

fn dsn(c: &Common) -> Result<String> {
    if let Some(url) = &c.database_url {
        return Ok(url.clone());
    }
    if !c.read_from_env {
        return Err(Error::Config(
            "expected a database URL argument, or -e to read it from DSN / the config".into(),
        ));
    }
    if let Ok(dsn) = std::env::var("DSN")
        && !dsn.is_empty()
    {
        return Ok(dsn);
    }
    if let Some(path) = c.config.config.first() {
        let yaml = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let cfg = ConfigHandle::from_yaml(&yaml, true)?.get();
        if !cfg.dsn.is_empty() {
            return Ok(cfg.dsn.clone());
        }
    }
    Err(Error::Config(
        "-e was given but neither the DSN environment variable nor the config key dsn is set"
            .into(),
    ))
}

fn confirm(c: &Common, question: &str) -> bool {
    if c.yes {
        return true;
    }
    print!("{question} [y/N]: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

async fn connect(c: &Common) -> Result<Persister> {
    let dsn = dsn(c)?;
    if dsn.trim() == "memory" {
        return Err(Error::Config(
            "migrating an in-memory database has no effect: it is migrated at start".into(),
        ));
    }
    Persister::connect(&dsn).await
}

async fn up(c: Common) -> Result<()> {
    let db = connect(&c).await?;
    let pending: Vec<_> = db
        .migration_status()
        .await?
        .into_iter()
        .filter(|m| !m.applied)
        .collect();
    if pending.is_empty() {
        println!("All migrations are already applied, there is nothing to do.");
        return Ok(());
    }
    println!("The following migrations will be applied:");
    for m in &pending {
        println!("  {} {}", m.version, m.name);
    }
    if !confirm(&c, "Do you wish to execute this migration plan?") {
        println!("Migration aborted.");
        return Ok(());
    }
    db.migrate_up().await?;
    println!("Successfully applied migrations!");
    Ok(())
}

async fn down(c: Common, steps: usize) -> Result<()> {
    if steps == 0 {
        return Err(Error::Config(
            "please provide the --steps argument with a value larger than 0".into(),
        ));
    }
    let db = connect(&c).await?;
    if !confirm(
        &c,
        &format!("Do you really want to roll back the last {steps} migrations?"),
    ) {
        println!("Migration rollback aborted.");
        return Ok(());
    }
    let reverted = db.migrate_down(steps).await?;
    for m in &reverted {
        println!("Rolled back {} {}", m.version, m.name);
    }
    println!("Successfully rolled back {} migrations.", reverted.len());
    Ok(())
}

async fn status(c: Common) -> Result<()> {
    let db = connect(&c).await?;
    println!("{:<16} {:<40} Status", "Version", "Name");
    for m in db.migration_status().await? {
        println!(
            "{:<16} {:<40} {}",
            m.version,
            m.name,
            if m.applied { "Applied" } else { "Pending" }
        );
    }
    Ok(())
}
