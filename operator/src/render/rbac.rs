//! Identity of the server pods: a ServiceAccount allowed to read the instance's IdentitySchemas,
//! so the servers can watch them and reload schemas without a restart.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kratos_crds::KratosInstance;
use kube::ResourceExt;

use super::{Component, RenderError, child_meta, names, namespace};

pub fn service_account(instance: &KratosInstance) -> Result<ServiceAccount, RenderError> {
    Ok(ServiceAccount {
        metadata: child_meta(
            instance,
            names::server_account(&instance.name_any()),
            Component::Rbac,
        )?,
        ..ServiceAccount::default()
    })
}

/// Read-only access to IdentitySchemas in the instance's namespace, nothing else.
pub fn role(instance: &KratosInstance) -> Result<Role, RenderError> {
    Ok(Role {
        metadata: child_meta(
            instance,
            names::server_account(&instance.name_any()),
            Component::Rbac,
        )?,
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![kratos_crds::GROUP.to_owned()]),
            resources: Some(vec!["identityschemas".to_owned()]),
            verbs: vec!["get".to_owned(), "list".to_owned(), "watch".to_owned()],
            ..PolicyRule::default()
        }]),
    })
}

pub fn role_binding(instance: &KratosInstance) -> Result<RoleBinding, RenderError> {
    let name = names::server_account(&instance.name_any());
    Ok(RoleBinding {
        metadata: child_meta(instance, name.clone(), Component::Rbac)?,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: name.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name,
            namespace: Some(namespace(instance)?),
            ..Subject::default()
        }]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use serde_json::json;

    #[test]
    fn the_role_only_reads_identity_schemas() {
        let role = role(&instance(json!({}))).unwrap();
        let rules = role.rules.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].api_groups.as_deref(),
            Some(&["kratos.rs".to_owned()][..])
        );
        assert_eq!(
            rules[0].resources.as_deref(),
            Some(&["identityschemas".to_owned()][..])
        );
        assert_eq!(rules[0].verbs, ["get", "list", "watch"]);
        assert_eq!(role.metadata.name.as_deref(), Some("shop"));
    }

    #[test]
    fn the_binding_grants_the_role_to_the_server_account() {
        let instance = instance(json!({}));
        let binding = role_binding(&instance).unwrap();
        assert_eq!(binding.role_ref.kind, "Role");
        assert_eq!(binding.role_ref.name, "shop");
        let subject = &binding.subjects.unwrap()[0];
        assert_eq!(subject.kind, "ServiceAccount");
        assert_eq!(
            subject.name,
            service_account(&instance).unwrap().metadata.name.unwrap()
        );
        assert_eq!(subject.namespace.as_deref(), Some("identity"));
    }
}
