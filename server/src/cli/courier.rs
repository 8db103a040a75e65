//! `kratos courier watch`: runs the message courier on its own (without the HTTP APIs).

use crate::app::App;
use crate::config::{ConfigHandle, Options};
use crate::error::Result;

#[derive(clap::Subcommand, Debug)]
pub enum CourierCommand {
    /// Watch the message queue and send out messages.
    Watch(WatchArgs),
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    config: super::ConfigArgs,
    /// Accepted for compatibility; the courier exposes no separate metrics port.
    #[arg(long)]
    expose_metrics_port: Option<u16>,
}

pub async fn run(cmd: CourierCommand) -> Result<()> {
    let CourierCommand::Watch(args) = cmd;
    let (config, warnings) =
        ConfigHandle::load(Options::from_process_env(args.config.config.clone(), false))?;
    let cfg = config.get();
    crate::logging::init(cfg.log.level, cfg.log.format);
    for warning in warnings {
        tracing::warn!("configuration: {warning}");
    }
    if let Some(port) = args.expose_metrics_port {
        tracing::warn!(
            port,
            "--expose-metrics-port is not supported by kratos-rs and ignored"
        );
    }
    let _watch = if args.config.config.is_empty() {
        None
    } else {
        Some(config.watch()?)
    };
    let app = App::new(config).await?;
    crate::courier::worker::run(app.clone(), crate::server::shutdown_signal()).await;
    app.db.close().await;
    Ok(())
}
