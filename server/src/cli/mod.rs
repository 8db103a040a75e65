//! The `kratos` command line, mirroring Kratos's commands and flags.

mod courier;
mod hashers;
mod import;
mod migrate;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kratos", version = crate::VERSION, about = "An identity server API-compatible with Ory Kratos")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Config file flags shared by commands that read kratos.yml.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Path to a config file (YAML, JSON or TOML); may be given several times, later files win.
    #[arg(short = 'c', long = "config", global = true)]
    pub config: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the public and admin APIs.
    Serve(serve::ServeArgs),
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        command: migrate::MigrateCommand,
    },
    /// Import resources through a running server's admin API.
    Import {
        #[command(subcommand)]
        command: import::ImportCommand,
    },
    /// The message courier.
    Courier {
        #[command(subcommand)]
        command: courier::CourierCommand,
    },
    /// Password hasher tooling (`hashers argon2 calibrate`).
    Hashers {
        #[command(subcommand)]
        command: hashers::HashersCommand,
    },
    /// Print the version.
    Version,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Migrate { command } => migrate::run(command).await.map(|()| ExitCode::SUCCESS),
            Command::Courier { command } => courier::run(command).await.map(|()| ExitCode::SUCCESS),
            // Reports each failed identity itself and exits non-zero when any failed.
            Command::Import { command } => import::run(command).await,
            Command::Hashers { command } => hashers::run(command).await.map(|()| ExitCode::SUCCESS),
            Command::Version => {
                println!("Version:    {}", crate::VERSION);
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err}");
            ExitCode::FAILURE
        }
    }
}
