//! Wiring of the two controllers: what each watches and how changes map to reconciles.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kratos_crds::{IdentitySchema, KratosInstance};
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::utils::Backoff;
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};

use crate::context::Context;
use crate::render::{MANAGER, labels, names};
use crate::{instance, schema};

/// Where the operator looks: one namespace, or the whole cluster.
#[derive(Clone, Debug)]
pub struct Scope {
    pub namespace: Option<String>,
}

impl Scope {
    pub fn api<K>(&self, client: Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.namespace {
            Some(namespace) => Api::namespaced(client, namespace),
            None => Api::all(client),
        }
    }
}

/// Runs both controllers until `shutdown` resolves and in-flight reconciles finish.
pub async fn run<S>(ctx: Arc<Context>, scope: &Scope, shutdown: S)
where
    S: Future<Output = ()> + Clone + Send + Sync + 'static,
{
    let client = ctx.client.clone();
    let children = watcher::Config::default().labels(&format!("{}={MANAGER}", labels::MANAGED_BY));

    let instances = Controller::new(
        scope.api::<KratosInstance>(client.clone()),
        watcher::Config::default(),
    )
    .trigger_backoff(WatchBackoff::default());
    let instance_store = instances.store();
    let instance_controller = instances
        .owns(scope.api::<Deployment>(client.clone()), children.clone())
        .owns(scope.api::<Job>(client.clone()), children.clone())
        .owns(scope.api::<ConfigMap>(client.clone()), children.clone())
        .owns(scope.api::<Service>(client.clone()), children.clone())
        .owns(
            scope.api::<ServiceAccount>(client.clone()),
            children.clone(),
        )
        .owns(scope.api::<Role>(client.clone()), children.clone())
        .owns(scope.api::<RoleBinding>(client.clone()), children.clone())
        .owns(
            scope.api::<PodDisruptionBudget>(client.clone()),
            children.clone(),
        )
        .watches(
            scope.api::<Secret>(client.clone()),
            watcher::Config::default(),
            {
                let store = instance_store.clone();
                move |secret: Secret| instances_using_secret(&store.state(), &secret)
            },
        )
        .watches(
            scope.api::<IdentitySchema>(client.clone()),
            watcher::Config::default(),
            {
                let store = instance_store.clone();
                // Any schema change may add or remove it from an instance's selection, so every
                // instance of the namespace takes another look.
                move |schema: IdentitySchema| same_namespace(&store.state(), schema.namespace())
            },
        )
        .graceful_shutdown_on(shutdown.clone())
        .run(instance::reconcile, instance::error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, controller = instance::CONTROLLER, "reconcile trigger");
            }
        });

    let schemas = Controller::new(
        scope.api::<IdentitySchema>(client.clone()),
        watcher::Config::default(),
    )
    .trigger_backoff(WatchBackoff::default());
    let schema_store = schemas.store();
    let deployment_schema_store = schema_store.clone();
    let schema_controller = schemas
        .watches(
            scope.api::<KratosInstance>(client.clone()),
            watcher::Config::default(),
            move |instance: KratosInstance| {
                same_namespace(&schema_store.state(), instance.namespace())
            },
        )
        .watches(
            // Ready replicas feed status.servedBy.
            scope.api::<Deployment>(client.clone()),
            children.clone(),
            move |deployment: Deployment| {
                same_namespace(&deployment_schema_store.state(), deployment.namespace())
            },
        )
        .graceful_shutdown_on(shutdown)
        .run(schema::reconcile, schema::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, controller = schema::CONTROLLER, "reconcile trigger");
            }
        });

    futures::join!(instance_controller, schema_controller);
}

/// Instances of the Secret's namespace that reference it (including their generated Secret).
pub fn instances_using_secret(
    instances: &[Arc<KratosInstance>],
    secret: &Secret,
) -> Vec<ObjectRef<KratosInstance>> {
    let name = secret.name_any();
    instances
        .iter()
        .filter(|instance| instance.namespace() == secret.namespace())
        .filter(|instance| {
            let spec = &instance.spec;
            spec.database.dsn_secret_ref.name == name
                || spec
                    .courier
                    .smtp
                    .as_ref()
                    .is_some_and(|smtp| smtp.connection_uri_secret_ref.name == name)
                || match &spec.secrets.secret_ref {
                    Some(reference) => reference.name == name,
                    None => names::generated_secrets(&instance.name_any()) == name,
                }
        })
        .map(|instance| ObjectRef::from(instance.as_ref()))
        .collect()
}

/// Every object of `objects` in `namespace`.
fn same_namespace<K>(objects: &[Arc<K>], namespace: Option<String>) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + ResourceExt,
{
    objects
        .iter()
        .filter(|object| object.namespace() == namespace)
        .map(|object| ObjectRef::from(object.as_ref()))
        .collect()
}

/// How long a controller's watches pause after an error: 100 ms, then 250 ms until an event
/// arrives.
///
/// One back-off serves all of a controller's watches (a dozen for instances): after each error
/// the whole merged stream sleeps, and the failing watches take turns, so each one retries only
/// about every (watches x delay) and the API server sees a few requests a second during an
/// outage. kube's default (up to 30 s) made that a long queue once the API server was back:
/// every watch's pending error cost a full delay before the next one was looked at, which held
/// schema changes up for up to half a minute after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WatchBackoff {
    next: Duration,
}

impl WatchBackoff {
    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(250);
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: Self::MIN }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (delay * 2).min(Self::MAX);
        Some(delay)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use serde_json::json;

    fn secret(namespace: &str, name: &str) -> Secret {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.metadata.namespace = Some(namespace.into());
        secret
    }

    #[test]
    fn secrets_map_to_the_instances_that_reference_them() {
        let plain = Arc::new(instance(json!({})));
        let mut referencing = instance(json!({
            "secrets": {"secretRef": {"name": "signing"}},
            "courier": {"smtp": {"connectionUriSecretRef": {"name": "mail", "key": "uri"}}}
        }));
        referencing.metadata.name = Some("other".into());
        let instances = vec![plain, Arc::new(referencing)];
        let names = |secret: Secret| -> Vec<String> {
            instances_using_secret(&instances, &secret)
                .into_iter()
                .map(|reference| reference.name)
                .collect()
        };
        assert_eq!(names(secret("identity", "db")), ["shop", "other"]);
        assert_eq!(names(secret("identity", "shop-secrets")), ["shop"]);
        assert_eq!(names(secret("identity", "signing")), ["other"]);
        assert_eq!(names(secret("identity", "mail")), ["other"]);
        assert!(names(secret("identity", "unrelated")).is_empty());
        assert!(names(secret("elsewhere", "db")).is_empty());
    }

    #[test]
    fn watch_backoff_stays_short_and_resets() {
        let mut backoff = WatchBackoff::default();
        let delays: Vec<u128> = backoff.by_ref().take(4).map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 250, 250]);
        backoff.reset();
        assert_eq!(backoff.next(), Some(Duration::from_millis(100)));
    }
}
