//! The server Deployment, the courier worker Deployment and the migration Job.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, KeyToPath, ObjectFieldSelector, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, SeccompProfile, SecretKeySelector, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kratos_crds::KratosInstance;
use kratos_crds::kratos_instance::{ADMIN_CONTAINER_PORT, PUBLIC_CONTAINER_PORT};
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::config::{CONFIG_DIR, CONFIG_FILE, KRATOS_YML_KEY, schema_key, schema_path};
use super::secrets::{CIPHER_KEY, COOKIE_KEY, DEFAULT_KEY, SecretsKeys};
use super::services::{ADMIN_PORT_NAME, PUBLIC_PORT_NAME};
use super::{
    CONFIG_HASH_ANNOTATION, Component, RenderError, child_meta, names, overlay, selector_labels,
};

/// Name of the server container (the pod-template escape hatch merges on it).
pub const SERVER_CONTAINER: &str = "kratos";
const COURIER_CONTAINER: &str = "courier";
const MIGRATION_CONTAINER: &str = "migrate";

/// Unprivileged user the containers run as.
const RUN_AS_USER: i64 = 10000;
/// Finished migration Jobs are garbage-collected after a day; their outcome is in status.
const MIGRATION_JOB_TTL_SECONDS: i32 = 24 * 60 * 60;
/// A failing migration is retried a few times before the Job fails.
const MIGRATION_BACKOFF_LIMIT: i32 = 3;

/// The server image used when spec.image is unset: the one released with this operator.
pub fn default_image() -> String {
    format!("ghcr.io/kratos-rs/kratos:{}", env!("CARGO_PKG_VERSION"))
}

/// The image the instance asks for.
pub fn desired_image(instance: &KratosInstance) -> String {
    instance.spec.image.clone().unwrap_or_else(default_image)
}

/// What the server and courier pods need besides the spec.
#[derive(Clone, Debug)]
pub struct PodInputs<'a> {
    /// The image to run: one whose migrations have been applied.
    pub image: &'a str,
    /// Value of the config-hash annotation.
    pub config_hash: &'a str,
    /// Ids of the schemas in the ConfigMap.
    pub schema_ids: &'a [String],
    /// Name of the secrets Secret (referenced or generated).
    pub secrets_secret: &'a str,
    /// Optional keys present in that Secret.
    pub secrets_keys: SecretsKeys,
}

/// The server Deployment `<instance>`.
pub fn server_deployment(
    instance: &KratosInstance,
    inputs: &PodInputs<'_>,
) -> Result<Deployment, RenderError> {
    let mut args = vec!["serve".to_owned(), "-c".to_owned(), CONFIG_FILE.to_owned()];
    if !instance.spec.courier.dedicated_worker {
        args.push("--watch-courier".to_owned());
    }
    let health = |path: &str, failure_threshold: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(ADMIN_PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(5),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    };
    let container = Container {
        name: SERVER_CONTAINER.to_owned(),
        args: Some(args),
        ports: Some(vec![
            container_port(PUBLIC_PORT_NAME, PUBLIC_CONTAINER_PORT),
            container_port(ADMIN_PORT_NAME, ADMIN_CONTAINER_PORT),
        ]),
        env: Some(pod_env(instance, inputs)),
        // Up to a minute to start (migrations are done by the Job, but connecting may take a while).
        startup_probe: Some(health("/health/alive", 12)),
        liveness_probe: Some(health("/health/alive", 3)),
        readiness_probe: Some(health("/health/ready", 1)),
        resources: instance.spec.resources.clone(),
        ..base_container(instance, inputs.image)
    };
    let mut template = pod_template(instance, Component::Server, inputs, container)?;
    let scheduling = &instance.spec.scheduling;
    if let Some(spec) = template.spec.as_mut() {
        spec.node_selector = non_empty_map(&scheduling.node_selector);
        spec.tolerations = non_empty(&scheduling.tolerations);
        spec.affinity = scheduling.affinity.clone();
        spec.topology_spread_constraints = non_empty(&scheduling.topology_spread_constraints);
        spec.priority_class_name = scheduling.priority_class_name.clone();
    }
    if let Some(overlay) = &instance.spec.pod_template {
        template = apply_overlay(template, overlay)?;
    }
    Ok(Deployment {
        metadata: child_meta(
            instance,
            names::server(&instance.name_any()),
            Component::Server,
        )?,
        spec: Some(DeploymentSpec {
            replicas: Some(instance.spec.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(instance, Component::Server)),
                ..LabelSelector::default()
            },
            // Never go below the desired number of ready servers during a rollout.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::String("25%".to_owned())),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}

/// The courier worker Deployment `<instance>-courier`: one pod (none when scaled to zero),
/// recreated rather than surged so two workers never deliver the same queue.
pub fn courier_deployment(
    instance: &KratosInstance,
    inputs: &PodInputs<'_>,
) -> Result<Deployment, RenderError> {
    let container = Container {
        name: COURIER_CONTAINER.to_owned(),
        args: Some(vec![
            "courier".to_owned(),
            "watch".to_owned(),
            "-c".to_owned(),
            CONFIG_FILE.to_owned(),
        ]),
        env: Some(pod_env(instance, inputs)),
        ..base_container(instance, inputs.image)
    };
    let template = pod_template(instance, Component::Courier, inputs, container)?;
    Ok(Deployment {
        metadata: child_meta(
            instance,
            names::courier(&instance.name_any()),
            Component::Courier,
        )?,
        spec: Some(DeploymentSpec {
            replicas: Some(instance.spec.replicas.min(1)),
            selector: LabelSelector {
                match_labels: Some(selector_labels(instance, Component::Courier)),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".to_owned()),
                rolling_update: None,
            }),
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}

/// Name of the migration Job for `image`: one Job per image, so a Job is never modified.
pub fn migration_job_name(instance_name: &str, image: &str) -> String {
    let digest = hex::encode(Sha256::digest(image.as_bytes()));
    format!("{instance_name}-migrate-{}", &digest[..10])
}

/// The Job running `migrate sql -e --yes` with `image` against the instance's database.
pub fn migration_job(instance: &KratosInstance, image: &str) -> Result<Job, RenderError> {
    let container = Container {
        name: MIGRATION_CONTAINER.to_owned(),
        args: Some(vec![
            "migrate".to_owned(),
            "sql".to_owned(),
            "-e".to_owned(),
            "--yes".to_owned(),
        ]),
        env: Some(vec![dsn_env(instance)]),
        ..base_container(instance, image)
    };
    let mut labels = selector_labels(instance, Component::Migration);
    labels.insert(
        super::labels::MANAGED_BY.to_owned(),
        super::MANAGER.to_owned(),
    );
    let scheduling = &instance.spec.scheduling;
    Ok(Job {
        metadata: child_meta(
            instance,
            migration_job_name(&instance.name_any(), image),
            Component::Migration,
        )?,
        spec: Some(JobSpec {
            backoff_limit: Some(MIGRATION_BACKOFF_LIMIT),
            ttl_seconds_after_finished: Some(MIGRATION_JOB_TTL_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    containers: vec![container],
                    volumes: Some(vec![tmp_volume()]),
                    security_context: Some(pod_security_context()),
                    image_pull_secrets: non_empty(&instance.spec.image_pull_secrets),
                    automount_service_account_token: Some(false),
                    node_selector: non_empty_map(&scheduling.node_selector),
                    tolerations: non_empty(&scheduling.tolerations),
                    affinity: scheduling.affinity.clone(),
                    priority_class_name: scheduling.priority_class_name.clone(),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    })
}

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..ContainerPort::default()
    }
}

/// Image, pull policy, security context and the writable /tmp every container gets.
fn base_container(instance: &KratosInstance, image: &str) -> Container {
    Container {
        image: Some(image.to_owned()),
        image_pull_policy: instance
            .spec
            .image_pull_policy
            .map(|policy| policy.as_str().to_owned()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        fs_group: Some(RUN_AS_USER),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

fn tmp_volume() -> Volume {
    Volume {
        name: "tmp".to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

/// Server and courier pods: config volume, service account, config-hash annotation.
fn pod_template(
    instance: &KratosInstance,
    component: Component,
    inputs: &PodInputs<'_>,
    mut container: Container,
) -> Result<PodTemplateSpec, RenderError> {
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(VolumeMount {
            name: "config".to_owned(),
            mount_path: CONFIG_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    // Items (not subPath) so that the kubelet keeps refreshing the files when the ConfigMap
    // changes: servers reload schema files without a restart.
    let mut items = vec![KeyToPath {
        key: KRATOS_YML_KEY.to_owned(),
        path: KRATOS_YML_KEY.to_owned(),
        ..KeyToPath::default()
    }];
    items.extend(inputs.schema_ids.iter().map(|id| KeyToPath {
        key: schema_key(id),
        path: schema_path(id),
        ..KeyToPath::default()
    }));
    let config_volume = Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: names::config_map(&instance.name_any()),
            items: Some(items),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    };
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(selector_labels(instance, component)),
            annotations: Some(BTreeMap::from([(
                CONFIG_HASH_ANNOTATION.to_owned(),
                inputs.config_hash.to_owned(),
            )])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(names::server_account(&instance.name_any())),
            containers: vec![container],
            volumes: Some(vec![config_volume, tmp_volume()]),
            security_context: Some(pod_security_context()),
            image_pull_secrets: non_empty(&instance.spec.image_pull_secrets),
            ..PodSpec::default()
        }),
    })
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn dsn_env(instance: &KratosInstance) -> EnvVar {
    let dsn = &instance.spec.database.dsn_secret_ref;
    secret_env("DSN", &dsn.name, &dsn.key)
}

/// Credentials from Secrets (Kratos's environment overrides) and the pod's identity.
fn pod_env(instance: &KratosInstance, inputs: &PodInputs<'_>) -> Vec<EnvVar> {
    let mut env = vec![
        dsn_env(instance),
        secret_env("SECRETS_DEFAULT", inputs.secrets_secret, DEFAULT_KEY),
    ];
    if inputs.secrets_keys.cookie {
        env.push(secret_env(
            "SECRETS_COOKIE",
            inputs.secrets_secret,
            COOKIE_KEY,
        ));
    }
    if inputs.secrets_keys.cipher {
        env.push(secret_env(
            "SECRETS_CIPHER",
            inputs.secrets_secret,
            CIPHER_KEY,
        ));
    }
    if let Some(smtp) = &instance.spec.courier.smtp {
        let uri = &smtp.connection_uri_secret_ref;
        env.push(secret_env(
            "COURIER_SMTP_CONNECTION_URI",
            &uri.name,
            &uri.key,
        ));
    }
    env.push(field_env("POD_NAME", "metadata.name"));
    env.push(field_env("POD_NAMESPACE", "metadata.namespace"));
    env
}

fn apply_overlay(
    template: PodTemplateSpec,
    overlay: &serde_json::Map<String, serde_json::Value>,
) -> Result<PodTemplateSpec, RenderError> {
    let invalid = |error: serde_json::Error| RenderError::InvalidPodTemplate(error.to_string());
    let mut value = serde_json::to_value(template).map_err(invalid)?;
    overlay::merge(&mut value, &serde_json::Value::Object(overlay.clone()));
    serde_json::from_value(value).map_err(invalid)
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn non_empty_map(map: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then(|| map.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use serde_json::json;

    fn inputs() -> PodInputs<'static> {
        PodInputs {
            image: "ghcr.io/kratos-rs/kratos:1.2.3",
            config_hash: "sha256:abc",
            schema_ids: &[],
            secrets_secret: "shop-secrets",
            secrets_keys: SecretsKeys {
                cookie: true,
                cipher: false,
            },
        }
    }

    fn env_names(container: &Container) -> Vec<&str> {
        container
            .env
            .as_ref()
            .unwrap()
            .iter()
            .map(|env| env.name.as_str())
            .collect()
    }

    fn env_secret<'a>(container: &'a Container, name: &str) -> (&'a str, &'a str) {
        let env = container
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|env| env.name == name)
            .unwrap();
        let selector = env
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        (selector.name.as_str(), selector.key.as_str())
    }

    #[test]
    fn the_server_deployment_runs_serve_with_probes_env_and_hash() {
        let ids = ["default".to_owned(), "customer".to_owned()];
        let inputs = PodInputs {
            schema_ids: &ids,
            ..inputs()
        };
        let deployment = server_deployment(&instance(json!({})), &inputs).unwrap();
        assert_eq!(deployment.metadata.name.as_deref(), Some("shop"));
        let spec = deployment.spec.unwrap();
        assert_eq!(spec.replicas, Some(2));
        assert_eq!(
            spec.strategy
                .unwrap()
                .rolling_update
                .unwrap()
                .max_unavailable,
            Some(IntOrString::Int(0))
        );
        let template = spec.template;
        let metadata = template.metadata.unwrap();
        assert_eq!(
            metadata.annotations.unwrap()[CONFIG_HASH_ANNOTATION],
            "sha256:abc"
        );
        assert_eq!(
            spec.selector.match_labels.unwrap(),
            metadata.labels.unwrap()
        );
        let pod = template.spec.unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("shop"));
        let container = &pod.containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some("ghcr.io/kratos-rs/kratos:1.2.3")
        );
        assert_eq!(
            container.args.as_ref().unwrap(),
            &["serve", "-c", "/etc/kratos/kratos.yml"]
        );
        let ports: Vec<(i32, &str)> = container
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|port| (port.container_port, port.name.as_deref().unwrap()))
            .collect();
        assert_eq!(ports, [(4433, "public"), (4434, "admin")]);
        let probe_path = |probe: &Option<Probe>| {
            let get = probe.as_ref().unwrap().http_get.as_ref().unwrap();
            assert_eq!(get.port, IntOrString::String("admin".into()));
            get.path.clone().unwrap()
        };
        assert_eq!(probe_path(&container.liveness_probe), "/health/alive");
        assert_eq!(probe_path(&container.readiness_probe), "/health/ready");
        assert_eq!(probe_path(&container.startup_probe), "/health/alive");
        assert_eq!(
            env_names(container),
            [
                "DSN",
                "SECRETS_DEFAULT",
                "SECRETS_COOKIE",
                "POD_NAME",
                "POD_NAMESPACE"
            ]
        );
        assert_eq!(env_secret(container, "DSN"), ("db", "dsn"));
        assert_eq!(
            env_secret(container, "SECRETS_COOKIE"),
            ("shop-secrets", "cookie")
        );
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        let volumes = pod.volumes.unwrap();
        let items: Vec<(String, String)> = volumes[0]
            .config_map
            .as_ref()
            .unwrap()
            .items
            .as_ref()
            .unwrap()
            .iter()
            .map(|item| (item.key.clone(), item.path.clone()))
            .collect();
        assert_eq!(
            items,
            [
                ("kratos.yml".to_owned(), "kratos.yml".to_owned()),
                (
                    "default.schema.json".to_owned(),
                    "schemas/default.schema.json".to_owned()
                ),
                (
                    "customer.schema.json".to_owned(),
                    "schemas/customer.schema.json".to_owned()
                ),
            ]
        );
        assert_eq!(volumes[0].config_map.as_ref().unwrap().name, "shop-config");
    }

    #[test]
    fn the_server_delivers_mail_itself_without_a_dedicated_worker() {
        let instance = instance(json!({"replicas": 1, "courier": {"dedicatedWorker": false}}));
        let deployment = server_deployment(&instance, &inputs()).unwrap();
        let args = deployment.spec.unwrap().template.spec.unwrap().containers[0]
            .args
            .clone()
            .unwrap();
        assert_eq!(args.last().map(String::as_str), Some("--watch-courier"));
    }

    #[test]
    fn scheduling_resources_and_the_escape_hatch_reach_the_pod() {
        let instance = instance(json!({
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "scheduling": {"nodeSelector": {"pool": "identity"}, "priorityClassName": "high",
                           "tolerations": [{"key": "dedicated", "operator": "Exists"}]},
            "imagePullSecrets": [{"name": "registry"}],
            "podTemplate": {
                "metadata": {"annotations": {"sidecar.example.com/inject": "false"}},
                "spec": {"containers": [{"name": "kratos", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}]}
            }
        }));
        let template = server_deployment(&instance, &inputs())
            .unwrap()
            .spec
            .unwrap()
            .template;
        let annotations = template.metadata.unwrap().annotations.unwrap();
        assert_eq!(annotations["sidecar.example.com/inject"], "false");
        assert_eq!(annotations[CONFIG_HASH_ANNOTATION], "sha256:abc");
        let pod = template.spec.unwrap();
        assert_eq!(pod.node_selector.unwrap()["pool"], "identity");
        assert_eq!(pod.priority_class_name.as_deref(), Some("high"));
        assert_eq!(
            pod.tolerations.unwrap()[0].key.as_deref(),
            Some("dedicated")
        );
        assert_eq!(pod.image_pull_secrets.unwrap()[0].name, "registry");
        let container = &pod.containers[0];
        assert_eq!(pod.containers.len(), 1);
        assert!(env_names(container).contains(&"LOG_LEVEL"));
        assert!(env_names(container).contains(&"DSN"));
        let requests = container
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap();
        assert_eq!(requests["memory"].0, "128Mi");
    }

    #[test]
    fn an_unusable_escape_hatch_is_an_error() {
        let instance = instance(json!({"podTemplate": {"spec": {"containers": "not a list"}}}));
        assert!(matches!(
            server_deployment(&instance, &inputs()),
            Err(RenderError::InvalidPodTemplate(_))
        ));
    }

    #[test]
    fn the_courier_is_a_recreated_singleton_with_smtp() {
        let instance = instance(json!({"replicas": 3, "courier": {"smtp": {
            "connectionUriSecretRef": {"name": "mail", "key": "uri"}
        }}}));
        let deployment = courier_deployment(&instance, &inputs()).unwrap();
        assert_eq!(deployment.metadata.name.as_deref(), Some("shop-courier"));
        let spec = deployment.spec.unwrap();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
        assert_eq!(
            spec.selector.match_labels.unwrap()["app.kubernetes.io/component"],
            "courier"
        );
        let container = &spec.template.spec.unwrap().containers[0];
        assert_eq!(
            container.args.as_ref().unwrap(),
            &["courier", "watch", "-c", "/etc/kratos/kratos.yml"]
        );
        assert_eq!(
            env_secret(container, "COURIER_SMTP_CONNECTION_URI"),
            ("mail", "uri")
        );

        let stopped = courier_deployment(
            &super::super::test_support::instance(json!({"replicas": 0})),
            &inputs(),
        )
        .unwrap();
        assert_eq!(stopped.spec.unwrap().replicas, Some(0));
    }

    #[test]
    fn the_migration_job_migrates_with_the_new_image() {
        let instance = instance(json!({}));
        let job = migration_job(&instance, "ghcr.io/kratos-rs/kratos:2.0.0").unwrap();
        let name = job.metadata.name.clone().unwrap();
        assert_eq!(
            name,
            migration_job_name("shop", "ghcr.io/kratos-rs/kratos:2.0.0")
        );
        assert!(name.starts_with("shop-migrate-") && name.len() == "shop-migrate-".len() + 10);
        assert_ne!(
            name,
            migration_job_name("shop", "ghcr.io/kratos-rs/kratos:2.0.1")
        );
        let spec = job.spec.unwrap();
        assert_eq!(spec.backoff_limit, Some(3));
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        let container = &pod.containers[0];
        assert_eq!(
            container.image.as_deref(),
            Some("ghcr.io/kratos-rs/kratos:2.0.0")
        );
        assert_eq!(
            container.args.as_ref().unwrap(),
            &["migrate", "sql", "-e", "--yes"]
        );
        assert_eq!(env_names(container), ["DSN"]);
    }

    #[test]
    fn the_default_image_is_the_operator_release() {
        assert_eq!(
            default_image(),
            format!("ghcr.io/kratos-rs/kratos:{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(desired_image(&instance(json!({}))), default_image());
        assert_eq!(
            desired_image(&instance(json!({"image": "registry.example.com/kratos:9"}))),
            "registry.example.com/kratos:9"
        );
    }
}
