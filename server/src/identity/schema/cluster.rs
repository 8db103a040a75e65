//! Serving the cluster's `IdentitySchema` objects (`kratos_rs.kubernetes.identity_schemas`).
//!
//! A kube-runtime watcher follows the IdentitySchemas of one namespace (and label selector). It
//! re-lists after every reconnect, retrying with exponential back-off, so changes made while the
//! API server was unreachable are picked up when it is back; meanwhile the schemas in force keep
//! serving. After every change the registry is swapped atomically.
//!
//! Only `status.accepted` is served: the operator copies spec.schema there once it is valid and
//! compatible with the stored identities (see the IdentitySchema `compatibility` policy), so a
//! change it holds back never reaches the servers. A version that does not compile here or
//! breaks the `ory.sh/kratos` extension is refused and that object's last good version stays.
//! Schema ids not found in the cluster keep the version from `identity.schemas` (the files of
//! the rendered ConfigMap), which is also what serves before the first list completes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use kratos_crds::IdentitySchema as IdentitySchemaObject;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt};
use serde::Serialize;
use tokio::task::JoinHandle;

use super::{IdentitySchema, SchemaSet};
use crate::app::App;
use crate::config::KubernetesIdentitySchemas;

/// Longest wait between attempts to build a Kubernetes client.
const MAX_CLIENT_RETRY: Duration = Duration::from_secs(30);
/// First wait before re-listing after the watch failed; doubles up to [`MAX_RETRY`].
const MIN_RETRY: Duration = Duration::from_millis(250);
/// Longest wait between re-list attempts: short, so a schema applied just after an API-server
/// outage is not held up for long, yet every replica retrying costs the API server one list
/// call per replica every few seconds at most.
const MAX_RETRY: Duration = Duration::from_secs(4);

/// The cluster watch's state, shown by `GET /admin/x/schemas`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterStatus {
    pub namespace: String,
    pub label_selector: String,
    /// The KratosInstance these servers belong to, as configured.
    pub instance: Option<String>,
    /// Whether the watch is established now.
    pub connected: bool,
    /// When the last complete list finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Changes applied since start (lists and watch events that changed the set).
    pub applied_changes: u64,
    /// The last watch error, if the watch is not connected.
    pub last_error: Option<String>,
    /// Objects whose accepted content is refused here, with the reason.
    pub refused: Vec<RefusedSchema>,
}

/// An IdentitySchema whose content this server refused.
#[derive(Debug, Clone, Serialize)]
pub struct RefusedSchema {
    /// Name of the IdentitySchema object.
    pub name: String,
    pub content_hash: String,
    pub reason: String,
}

/// Starts watching when `kratos_rs.kubernetes.identity_schemas` is configured.
pub fn spawn(app: &App) -> Option<JoinHandle<()>> {
    let settings = app.config().kubernetes_identity_schemas()?.clone();
    let app = app.clone();
    Some(tokio::spawn(async move { watch(app, settings).await }))
}

async fn client() -> Client {
    let mut delay = Duration::from_millis(500);
    loop {
        match Client::try_default().await {
            Ok(client) => return client,
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot build a Kubernetes client (in-cluster or KUBECONFIG); retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_CLIENT_RETRY);
            }
        }
    }
}

async fn watch(app: App, settings: KubernetesIdentitySchemas) {
    let client = client().await;
    let namespace = settings
        .namespace
        .clone()
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let label_selector = settings.label_selector.clone().unwrap_or_default();
    app.schemas.update_cluster_status(|status| {
        status.namespace = namespace.clone();
        status.label_selector = label_selector.clone();
        status.instance = settings.instance.clone();
    });
    tracing::info!(%namespace, %label_selector, "watching IdentitySchemas");

    let api: Api<IdentitySchemaObject> = Api::namespaced(client, &namespace);
    let mut config = watcher::Config::default();
    if !label_selector.is_empty() {
        config = config.labels(&label_selector);
    }
    // What `identity.schemas` provided at start: serves ids the cluster does not have.
    let mut state = State::new(app.schemas.current());
    let mut delay = MIN_RETRY;
    loop {
        // A fresh watcher per connection: it starts with a complete list, so whatever changed
        // while the API server was unreachable is picked up, and `connected` is only reported
        // once that list is in.
        let stream = watcher::watcher(api.clone(), config.clone());
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let changed = match event {
                Ok(Event::Init) => {
                    state.listing = Some(BTreeMap::new());
                    false
                }
                Ok(Event::InitApply(object)) => {
                    if let Some(listing) = &mut state.listing {
                        listing.insert(object.name_any(), object);
                    }
                    false
                }
                Ok(Event::InitDone) => {
                    if let Some(listing) = state.listing.take() {
                        state.objects = listing;
                    }
                    delay = MIN_RETRY;
                    app.schemas.update_cluster_status(|status| {
                        status.connected = true;
                        status.last_error = None;
                        status.last_sync_at = Some(Utc::now());
                    });
                    true
                }
                Ok(Event::Apply(object)) => {
                    state.objects.insert(object.name_any(), object);
                    true
                }
                Ok(Event::Delete(object)) => {
                    state.objects.remove(&object.name_any());
                    true
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "IdentitySchema watch failed; serving the last schemas and retrying");
                    app.schemas.update_cluster_status(|status| {
                        status.connected = false;
                        status.last_error = Some(error.to_string());
                    });
                    break;
                }
            };
            if changed {
                state.apply(&app);
            }
        }
        state.listing = None;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY);
    }
}

struct State {
    base: Arc<SchemaSet>,
    /// The objects as last seen, by name.
    objects: BTreeMap<String, IdentitySchemaObject>,
    /// Objects of a list in progress; replaces `objects` when it completes.
    listing: Option<BTreeMap<String, IdentitySchemaObject>>,
    /// The last good compiled version of each object, by name.
    compiled: HashMap<String, Arc<IdentitySchema>>,
}

impl State {
    fn new(base: Arc<SchemaSet>) -> Self {
        State {
            base,
            objects: BTreeMap::new(),
            listing: None,
            compiled: HashMap::new(),
        }
    }

    /// Compiles what changed and swaps the registry if the served set differs.
    fn apply(&mut self, app: &App) {
        self.compiled
            .retain(|name, _| self.objects.contains_key(name));
        let mut refused = Vec::new();
        let mut ordered: Vec<&IdentitySchemaObject> = self.objects.values().collect();
        // Of two objects with one schema id, the older is served (as the operator does).
        ordered.sort_by_key(|object| {
            (
                object.metadata.creation_timestamp.as_ref().map(|t| t.0),
                object.name_any(),
            )
        });
        let mut served: Vec<Arc<IdentitySchema>> = Vec::new();
        for object in ordered {
            let name = object.name_any();
            if let Some(accepted) = object.status.as_ref().and_then(|s| s.accepted.as_ref()) {
                let hash = kratos_crds::content_hash(&accepted.schema);
                let up_to_date = self.compiled.get(&name).is_some_and(|schema| {
                    schema.content_hash() == hash
                        && schema.id() == object.spec.id
                        && schema.selfservice_selectable() == object.spec.selfservice_selectable
                });
                if !up_to_date {
                    match compile(object, &accepted.schema) {
                        Ok(schema) => {
                            self.compiled.insert(name.clone(), Arc::new(schema));
                        }
                        Err(reason) => {
                            tracing::error!(identity_schema = %name, content_hash = %hash, %reason, "refusing an IdentitySchema version; its last good version stays in force");
                            refused.push(RefusedSchema {
                                name: name.clone(),
                                content_hash: hash,
                                reason,
                            });
                        }
                    }
                }
            } else {
                tracing::debug!(identity_schema = %name, "not accepted by the operator yet; not served");
            }
            if let Some(schema) = self.compiled.get(&name)
                && !served.iter().any(|s| s.id() == schema.id())
            {
                served.push(schema.clone());
            }
        }
        for schema in self.base.schemas() {
            if !served.iter().any(|s| s.id() == schema.id()) {
                served.push(schema.clone());
            }
        }

        let current = app.schemas.current();
        let unchanged = current.schemas().len() == served.len()
            && current.schemas().iter().zip(&served).all(|(a, b)| {
                a.id() == b.id()
                    && a.content_hash() == b.content_hash()
                    && a.selfservice_selectable() == b.selfservice_selectable()
            });
        let mut applied = false;
        if !unchanged {
            match SchemaSet::from_shared(served, self.base.default_id()) {
                Ok(set) => {
                    app.schemas.replace(set);
                    applied = true;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot serve the cluster's identity schemas")
                }
            }
        }
        app.schemas.update_cluster_status(|status| {
            status.refused = refused;
            if applied {
                status.applied_changes += 1;
            }
        });
    }
}

fn compile(
    object: &IdentitySchemaObject,
    content: &serde_json::Value,
) -> Result<IdentitySchema, String> {
    let problems = kratos_crds::check_identity_schema(content);
    if let Some(first) = problems.first() {
        return Err(format!(
            "{}: {}",
            if first.pointer.is_empty() {
                "(root)"
            } else {
                &first.pointer
            },
            first.message
        ));
    }
    let raw = serde_json::to_vec(content).map_err(|e| e.to_string())?;
    let url = format!(
        "kubernetes:///namespaces/{}/identityschemas/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    IdentitySchema::compile(
        &object.spec.id,
        &url,
        object.spec.selfservice_selectable,
        raw,
        HashMap::new(),
    )
}
