//! The kratos-rs operator: reconciles `IdentitySchema` and `KratosInstance` resources
//! (API group `kratos.rs`) into running kratos-rs servers.
//!
//! - [`render`]: pure functions from an instance to its child objects;
//! - [`instance`] and [`schema`]: the reconcilers; [`controllers`]: what they watch;
//! - [`leader`], [`http`], [`startup`]: running as a well-behaved Kubernetes workload.

pub mod conditions;
pub mod config;
pub mod context;
pub mod controllers;
pub mod error;
pub mod events;
pub mod http;
pub mod instance;
pub mod leader;
pub mod metrics;
pub mod migration;
pub mod render;
pub mod schema;
pub mod servers;
pub mod startup;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::Client;
use tokio::sync::watch;

pub use config::{Config, LogFormat};
pub use error::Error;

use context::{Context, ErrorBackoff};
use controllers::Scope;
use leader::LeaderElection;
use metrics::Metrics;

/// Sets up logging: JSON lines (default) or human-readable text; `RUST_LOG` filters.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// Runs the operator until SIGTERM or Ctrl-C, then lets in-flight reconciles finish.
pub async fn run(config: Config) -> Result<(), Error> {
    let client = Client::try_default()
        .await
        .map_err(|error| Error::ClientConfig(error.to_string()))?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight reconciles");
        let _ = shutdown_tx.send(true);
    });
    run_with_shutdown(config, client, shutdown).await
}

/// [`run`] with an explicit client and shutdown signal (`true` stops the operator).
pub async fn run_with_shutdown(
    config: Config,
    client: Client,
    shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let http = tokio::spawn(http::serve(
        config.metrics_address,
        metrics.clone(),
        ready.clone(),
        shutdown.clone(),
    ));

    let scope = Scope {
        namespace: config.namespace.clone(),
    };
    startup::check_crds(&client, &scope).await?;
    tracing::info!(
        namespace = scope.namespace.as_deref().unwrap_or("(all)"),
        "CRDs found; starting"
    );
    ready.store(true, Ordering::Relaxed);

    let identity = config
        .identity
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "kratos-operator".to_owned());
    let election = if config.leader_election {
        let namespace = config
            .leader_election_namespace
            .clone()
            .or_else(|| config.pod_namespace.clone())
            .ok_or_else(|| {
                Error::LeaderElection(
                    "set --leader-election-namespace or POD_NAMESPACE for the Lease".to_owned(),
                )
            })?;
        let election = LeaderElection::new(
            client.clone(),
            &namespace,
            &config.leader_election_lease,
            &identity,
        );
        if !election.acquire(&mut shutdown.clone()).await? {
            return finish_http(http).await;
        }
        Some(election)
    } else {
        None
    };
    metrics.set_leader(true);

    let ctx = Arc::new(Context {
        client: client.clone(),
        events: events::Events::new(client, Some(identity)),
        metrics: metrics.clone(),
        backoff: ErrorBackoff::default(),
        servers: servers::ServerClient::new(config.server_admin_url.clone()),
    });
    // Controllers stop on shutdown, or when the lease is lost.
    let (stop_tx, mut stop) = watch::channel(false);
    let stop_signal = futures::FutureExt::shared(Box::pin(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }));
    let controllers = tokio::spawn(async move { controllers::run(ctx, &scope, stop_signal).await });
    let outcome = match &election {
        Some(election) => election.hold(&mut shutdown.clone()).await,
        None => {
            let _ = shutdown.clone().wait_for(|stop| *stop).await;
            Ok(())
        }
    };
    metrics.set_leader(false);
    let _ = stop_tx.send(true);
    if let Err(error) = controllers.await {
        tracing::error!(%error, "controllers panicked");
    }
    outcome?;
    finish_http(http).await
}

async fn finish_http(http: tokio::task::JoinHandle<Result<(), Error>>) -> Result<(), Error> {
    match http.await {
        Ok(result) => result,
        Err(error) => Err(Error::Http(std::io::Error::other(error.to_string()))),
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
