//! Running the daemon: both APIs, background tasks, graceful shutdown.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::error::{Error, Result};
use crate::http::server::{Api, serve};

/// Listening sockets of a running server (useful when binding port 0 in tests).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub public: SocketAddr,
    pub admin: SocketAddr,
}

/// A running server; dropping the handle does not stop it, `shutdown` does.
pub struct Running {
    pub bound: Bound,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Tasks that run until stopped (the cluster schema watch); aborted on shutdown.
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in &self.background {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn bind(host: &str, port: u16) -> Result<TcpListener> {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    TcpListener::bind((host, port))
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {host}:{port}: {e}")))
}

/// Binds both APIs from the configuration and serves them in the background.
pub async fn start(app: App) -> Result<Running> {
    let cfg = app.config();
    let public = bind(&cfg.serve.public.host, cfg.serve.public.port).await?;
    let admin = bind(&cfg.serve.admin.host, cfg.serve.admin.port).await?;
    start_on(app, public, admin).await
}

/// Serves on already bound listeners.
pub async fn start_on(app: App, public: TcpListener, admin: TcpListener) -> Result<Running> {
    let bound = Bound {
        public: public.local_addr().map_err(Error::internal)?,
        admin: admin.local_addr().map_err(Error::internal)?,
    };
    let public_router = crate::routes::public().map_err(Error::Internal)?;
    let admin_router = crate::routes::admin().map_err(Error::Internal)?;
    let (stop, stopped) = watch::channel(false);
    let signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let tasks = vec![
        tokio::spawn(serve(
            app.clone(),
            public_router,
            Api::Public,
            public,
            signal(stopped.clone()),
        )),
        tokio::spawn(serve(
            app.clone(),
            admin_router,
            Api::Admin,
            admin,
            signal(stopped),
        )),
    ];
    let background = crate::identity::schema::cluster::spawn(&app)
        .into_iter()
        .chain(crate::identity::schema::file_reload::spawn(&app))
        .collect();
    tracing::info!(public = %bound.public, admin = %bound.admin, "serving the public and admin APIs");
    Ok(Running {
        bound,
        stop,
        tasks,
        background,
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
