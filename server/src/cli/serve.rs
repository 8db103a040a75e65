//! `kratos serve`.

use crate::app::App;
use crate::config::{ConfigHandle, Options};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    config: super::ConfigArgs,
    /// Disables critical security features to make development easier.
    #[arg(long)]
    dev: bool,
    /// Run the message courier as a background task, to simplify single-instance setup.
    #[arg(long)]
    watch_courier: bool,
    /// Accepted for compatibility; kratos-rs sends no telemetry.
    #[arg(long)]
    sqa_opt_out: bool,
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let (config, warnings) = ConfigHandle::load(Options::from_process_env(
        args.config.config.clone(),
        args.dev,
    ))?;
    let cfg = config.get();
    crate::logging::init(cfg.log.level, cfg.log.format);
    for warning in warnings {
        tracing::warn!("configuration: {warning}");
    }
    // Reloads on file changes; kept alive while serving.
    let _watch = if args.config.config.is_empty() {
        None
    } else {
        Some(config.watch()?)
    };
    if cfg.is_dev() {
        tracing::warn!(
            "YOU ARE RUNNING kratos-rs IN DEV MODE. SECURITY IS DISABLED. DON'T DO THIS IN PRODUCTION!"
        );
    }
    let app = App::new(config).await?;
    let running = crate::server::start(app.clone()).await?;
    let (stop_courier, courier_stopped) = tokio::sync::oneshot::channel::<()>();
    let courier = args.watch_courier.then(|| {
        tokio::spawn(crate::courier::worker::run(app.clone(), async move {
            let _ = courier_stopped.await;
        }))
    });
    crate::server::shutdown_signal().await;
    tracing::info!("shutting down gracefully");
    let _ = stop_courier.send(());
    if let Some(courier) = courier {
        let _ = courier.await;
    }
    running.shutdown().await;
    app.db.close().await;
    Ok(())
}
