//! The public and admin Services, and the PodDisruptionBudget of the server pods.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kratos_crds::KratosInstance;
use kratos_crds::kratos_instance::Endpoints;
use kube::ResourceExt;

use super::{Component, RenderError, child_meta, names, namespace, selector_labels};

/// Container port names, referenced by the Services and probes.
pub const PUBLIC_PORT_NAME: &str = "public";
pub const ADMIN_PORT_NAME: &str = "admin";

/// `<instance>-public`: the public API, of the type the spec asks for.
pub fn public_service(instance: &KratosInstance) -> Result<Service, RenderError> {
    let spec = &instance.spec.service.public;
    service(
        instance,
        names::public_service(&instance.name_any()),
        PUBLIC_PORT_NAME,
        spec.port,
        spec.type_.as_str(),
        &spec.annotations,
    )
}

/// `<instance>-admin`: the admin API, always ClusterIP since it has no authentication.
pub fn admin_service(instance: &KratosInstance) -> Result<Service, RenderError> {
    let spec = &instance.spec.service.admin;
    service(
        instance,
        names::admin_service(&instance.name_any()),
        ADMIN_PORT_NAME,
        spec.port,
        "ClusterIP",
        &spec.annotations,
    )
}

fn service(
    instance: &KratosInstance,
    name: String,
    port_name: &str,
    port: i32,
    type_: &str,
    annotations: &std::collections::BTreeMap<String, String>,
) -> Result<Service, RenderError> {
    let mut metadata = child_meta(instance, name, Component::Server)?;
    if !annotations.is_empty() {
        metadata.annotations = Some(annotations.clone());
    }
    Ok(Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(type_.to_owned()),
            selector: Some(selector_labels(instance, Component::Server)),
            ports: Some(vec![ServicePort {
                name: Some(port_name.to_owned()),
                port,
                target_port: Some(IntOrString::String(port_name.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

/// In-cluster URLs of the two Services.
pub fn endpoints(instance: &KratosInstance) -> Result<Endpoints, RenderError> {
    let name = instance.name_any();
    let namespace = namespace(instance)?;
    Ok(Endpoints {
        public: format!(
            "http://{}.{namespace}.svc:{}",
            names::public_service(&name),
            instance.spec.service.public.port
        ),
        admin: format!(
            "http://{}.{namespace}.svc:{}",
            names::admin_service(&name),
            instance.spec.service.admin.port
        ),
    })
}

/// At most one server pod is voluntarily evicted at a time (node drains, cluster upgrades).
/// `maxUnavailable` rather than `minAvailable`, so a single-replica instance can still be drained.
pub fn pod_disruption_budget(
    instance: &KratosInstance,
) -> Result<PodDisruptionBudget, RenderError> {
    Ok(PodDisruptionBudget {
        metadata: child_meta(
            instance,
            names::pod_disruption_budget(&instance.name_any()),
            Component::Server,
        )?,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(instance, Component::Server)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use serde_json::json;

    #[test]
    fn the_public_service_follows_the_spec() {
        let instance = instance(json!({"service": {"public": {
            "port": 80, "type": "LoadBalancer", "annotations": {"lb.example.com/internal": "false"}
        }}}));
        let service = public_service(&instance).unwrap();
        assert_eq!(service.metadata.name.as_deref(), Some("shop-public"));
        assert_eq!(
            service.metadata.annotations.unwrap()["lb.example.com/internal"],
            "false"
        );
        let spec = service.spec.unwrap();
        assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
        let port = &spec.ports.unwrap()[0];
        assert_eq!(port.port, 80);
        assert_eq!(port.target_port, Some(IntOrString::String("public".into())));
        assert_eq!(
            spec.selector.unwrap()["app.kubernetes.io/component"],
            "server"
        );
    }

    #[test]
    fn the_admin_service_is_never_exposed() {
        let instance = instance(json!({"service": {"public": {"type": "LoadBalancer"}}}));
        let service = admin_service(&instance).unwrap();
        assert_eq!(service.metadata.name.as_deref(), Some("shop-admin"));
        let spec = service.spec.unwrap();
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        let port = &spec.ports.unwrap()[0];
        assert_eq!(port.port, 4434);
        assert_eq!(port.target_port, Some(IntOrString::String("admin".into())));
    }

    #[test]
    fn endpoints_name_the_services() {
        let endpoints = endpoints(&instance(json!({}))).unwrap();
        assert_eq!(endpoints.public, "http://shop-public.identity.svc:4433");
        assert_eq!(endpoints.admin, "http://shop-admin.identity.svc:4434");
    }

    #[test]
    fn the_disruption_budget_allows_one_eviction_of_server_pods() {
        let budget = pod_disruption_budget(&instance(json!({}))).unwrap();
        let spec = budget.spec.unwrap();
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(spec.min_available, None);
        let selector = spec.selector.unwrap().match_labels.unwrap();
        assert_eq!(selector["app.kubernetes.io/component"], "server");
        assert_eq!(selector["app.kubernetes.io/instance"], "shop");
    }
}
