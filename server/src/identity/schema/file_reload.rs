//! Outside a cluster, the schemas follow `identity.schemas`: an applied configuration reload, or
//! a changed `file://` schema document, replaces the set without a restart. A set that fails to
//! load or compile is refused and the last good one stays in force.
//!
//! With `kratos_rs.kubernetes.identity_schemas` the cluster watch owns the registry instead
//! (see [`super::cluster`]); both replacing the set would undo each other.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::app::App;

/// How often `file://` documents are compared with the schemas in force. They are small local
/// files, so reading them is cheap; polling also sees files outside the watched config folders.
const POLL: Duration = Duration::from_secs(1);

/// Starts following the configuration unless the cluster watch serves the schemas.
pub fn spawn(app: &App) -> Option<JoinHandle<()>> {
    if app.config().kubernetes_identity_schemas().is_some() {
        return None;
    }
    let app = app.clone();
    Some(tokio::spawn(async move { follow(app).await }))
}

async fn follow(app: App) {
    let mut changes = app.config.subscribe();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the documents looked like at the last attempt, so a broken file is tried (and
    // warned about) once, not every second.
    let mut seen = in_force(&app);
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tick.tick() => {
                let now = on_disk(&app, &seen).await;
                if now == seen { continue }
                seen = now;
            }
        }
        let cfg = app.config();
        match app.schemas.reload(&cfg).await {
            Ok(()) => seen = in_force(&app),
            Err(error) => {
                tracing::warn!(%error, "identity schemas not reloaded; the previous ones stay in force")
            }
        }
    }
}

/// `file://` URL and hex SHA-256 of each document in force.
fn in_force(app: &App) -> Vec<(String, String)> {
    app.schemas
        .digests()
        .into_iter()
        .filter(|d| d.url.starts_with("file://"))
        .map(|d| (d.url, d.sha256))
        .collect()
}

/// The same documents as read now. An unreadable file keeps its previous hash: reloading would
/// fail and keep the current set anyway.
async fn on_disk(app: &App, previous: &[(String, String)]) -> Vec<(String, String)> {
    let mut now = Vec::with_capacity(previous.len());
    for (url, sha256) in previous {
        let hash = match app.schemas.loader().read(url).await {
            Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
            Err(_) => sha256.clone(),
        };
        now.push((url.clone(), hash));
    }
    now
}
