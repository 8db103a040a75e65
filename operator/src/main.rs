//! `kratos-operator`: see the library crate for what it does.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = kratos_operator::Config::parse();
    kratos_operator::init_logging(config.log_format);
    match kratos_operator::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "kratos-operator stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
