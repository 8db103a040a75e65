//! Pure functions from a KratosInstance (plus what the reconciler resolved) to its child objects.
//!
//! Nothing here talks to the API server, so every child can be unit-tested. The reconciler
//! applies the results with server-side apply.

pub mod config;
pub mod overlay;
pub mod rbac;
pub mod secrets;
pub mod services;
pub mod workloads;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kratos_crds::KratosInstance;
use kube::{Resource, ResourceExt};

/// Field manager of every server-side apply, and `app.kubernetes.io/managed-by` of every child.
pub const MANAGER: &str = "kratos-operator";

/// Pod-template annotation whose change rolls the server and courier pods.
pub const CONFIG_HASH_ANNOTATION: &str = "kratos.rs/config-hash";

/// Standard label keys.
pub mod labels {
    pub const NAME: &str = "app.kubernetes.io/name";
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
}

/// What a child object is to its instance (`app.kubernetes.io/component`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Server,
    Courier,
    Migration,
    Config,
    Secrets,
    Rbac,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Courier => "courier",
            Self::Migration => "migration",
            Self::Config => "config",
            Self::Secrets => "secrets",
            Self::Rbac => "rbac",
        }
    }
}

/// Names of an instance's children. The CRD limits instance names to 40 characters, so every
/// derived name stays within the 63 characters of a DNS label.
pub mod names {
    pub fn server(instance: &str) -> String {
        instance.to_owned()
    }
    pub fn courier(instance: &str) -> String {
        format!("{instance}-courier")
    }
    pub fn config_map(instance: &str) -> String {
        format!("{instance}-config")
    }
    pub fn public_service(instance: &str) -> String {
        format!("{instance}-public")
    }
    pub fn admin_service(instance: &str) -> String {
        format!("{instance}-admin")
    }
    pub fn generated_secrets(instance: &str) -> String {
        format!("{instance}-secrets")
    }
    /// Service account, Role and RoleBinding of the server pods.
    pub fn server_account(instance: &str) -> String {
        instance.to_owned()
    }
    pub fn pod_disruption_budget(instance: &str) -> String {
        instance.to_owned()
    }
}

/// Errors of the render functions: the instance lacks what the API server always sets.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the KratosInstance has no {0} (it must come from the API server)")]
    MissingMetadata(&'static str),
    #[error("cannot serialize the rendered configuration: {0}")]
    Serialize(String),
    #[error("spec.podTemplate does not merge into a valid pod template: {0}")]
    InvalidPodTemplate(String),
}

/// Labels identifying one component of one instance; also the selectors of its pods.
pub fn selector_labels(
    instance: &KratosInstance,
    component: Component,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::NAME.to_owned(), "kratos".to_owned()),
        (labels::INSTANCE.to_owned(), instance.name_any()),
        (labels::COMPONENT.to_owned(), component.as_str().to_owned()),
    ])
}

/// Selector labels plus the ownership labels carried by every child.
pub fn child_labels(instance: &KratosInstance, component: Component) -> BTreeMap<String, String> {
    let mut labels = selector_labels(instance, component);
    labels.insert(labels::MANAGED_BY.to_owned(), MANAGER.to_owned());
    labels.insert(labels::PART_OF.to_owned(), "kratos".to_owned());
    labels
}

/// The label selector of the server pods, in string form (status.selector, scale subresource).
pub fn server_selector_string(instance: &KratosInstance) -> String {
    selector_labels(instance, Component::Server)
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A controller ownerReference to the instance, so children are garbage-collected with it.
pub fn owner_reference(instance: &KratosInstance) -> Result<OwnerReference, RenderError> {
    instance
        .controller_owner_ref(&())
        .ok_or(RenderError::MissingMetadata("metadata.uid"))
}

/// Namespace of the instance.
pub fn namespace(instance: &KratosInstance) -> Result<String, RenderError> {
    instance
        .namespace()
        .ok_or(RenderError::MissingMetadata("metadata.namespace"))
}

/// Metadata of an owned child: name, namespace, labels and the controller ownerReference.
pub fn child_meta(
    instance: &KratosInstance,
    name: String,
    component: Component,
) -> Result<ObjectMeta, RenderError> {
    Ok(ObjectMeta {
        name: Some(name),
        namespace: Some(namespace(instance)?),
        labels: Some(child_labels(instance, component)),
        owner_references: Some(vec![owner_reference(instance)?]),
        ..ObjectMeta::default()
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use kratos_crds::KratosInstance;
    use serde_json::json;

    /// A KratosInstance as the API server returns it (defaults applied, uid set).
    pub fn instance(spec: serde_json::Value) -> KratosInstance {
        let mut full = json!({
            "replicas": 2,
            "database": {"dsnSecretRef": {"name": "db", "key": "dsn"}},
            "identity": {"schemaSelector": {"matchLabels": {"app": "shop"}}},
            "config": {"selfservice": {"default_browser_return_url": "https://shop.example.com/"}}
        });
        if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
            for (key, value) in extra {
                base.insert(key.clone(), value.clone());
            }
        }
        serde_json::from_value(json!({
            "apiVersion": "kratos.rs/v1alpha1",
            "kind": "KratosInstance",
            "metadata": {"name": "shop", "namespace": "identity", "uid": "1234-uid", "generation": 3},
            "spec": full
        }))
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::instance;
    use super::*;
    use serde_json::json;

    #[test]
    fn children_are_owned_by_the_instance_as_controller() {
        let meta = child_meta(
            &instance(json!({})),
            "shop-config".into(),
            Component::Config,
        )
        .unwrap();
        let owner = &meta.owner_references.unwrap()[0];
        assert_eq!(owner.kind, "KratosInstance");
        assert_eq!(owner.api_version, "kratos.rs/v1alpha1");
        assert_eq!(owner.name, "shop");
        assert_eq!(owner.uid, "1234-uid");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(meta.namespace.as_deref(), Some("identity"));
        let labels = meta.labels.unwrap();
        assert_eq!(labels[labels::MANAGED_BY], MANAGER);
        assert_eq!(labels[labels::COMPONENT], "config");
    }

    #[test]
    fn objects_without_uid_cannot_own_children() {
        let mut instance = instance(json!({}));
        instance.metadata.uid = None;
        assert!(matches!(
            owner_reference(&instance),
            Err(RenderError::MissingMetadata("metadata.uid"))
        ));
    }

    #[test]
    fn the_selector_string_matches_the_pod_labels() {
        assert_eq!(
            server_selector_string(&instance(json!({}))),
            "app.kubernetes.io/component=server,app.kubernetes.io/instance=shop,app.kubernetes.io/name=kratos"
        );
    }
}
