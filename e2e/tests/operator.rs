//! The operator against a real Kubernetes API server (run through e2e/run.sh).
//!
//! The chart is installed with helm (CRDs included); each test then starts the operator binary
//! as a process scoped to its own namespace (so tests run in parallel), applies the examples and
//! checks what the operator did. The API server runs no controllers: where Kubernetes would run
//! the migration Job or the Deployment's pods, the test writes their status itself.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret, Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kratos_crds::{IdentitySchema, KratosInstance};
use kratos_e2e::{
    Operator, RELEASE, RELEASE_NAMESPACE, apply_files, base64, client, eventually, kubectl,
    namespace, repo_root, run_failing, setup,
};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

const CONFIG_HASH: &str = "kratos.rs/config-hash";

// ---------------------------------------------------------------------------------------------
// Helpers

/// (status, reason, message) of a condition.
fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    conditions
        .iter()
        .find(|condition| condition.type_ == type_)
        .map(|condition| {
            (
                condition.status.clone(),
                condition.reason.clone(),
                condition.message.clone(),
            )
        })
}

fn instance_condition(instance: &KratosInstance, type_: &str) -> Option<(String, String, String)> {
    condition(&instance.status.as_ref()?.conditions, type_)
}

/// Waits until the instance's condition has `status` and `reason`; returns the instance.
async fn wait_instance(
    api: &Api<KratosInstance>,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> KratosInstance {
    eventually(
        &format!("KratosInstance {name} {type_}={status} ({reason})"),
        || async {
            let instance = api.get(name).await.map_err(|error| error.to_string())?;
            match instance_condition(&instance, type_) {
                Some((s, r, _)) if s == status && r == reason => Ok(instance),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

async fn wait_object<K>(api: &Api<K>, name: &str) -> K
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    eventually(
        &format!("{} {name}", std::any::type_name::<K>()),
        || async {
            api.get_opt(name)
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| "absent".to_owned())
        },
    )
    .await
}

/// Asserts that `meta` names the instance as its controlling owner.
fn assert_owned(meta: &ObjectMeta, instance: &KratosInstance) {
    let owners = meta.owner_references.as_deref().unwrap_or_default();
    assert_eq!(owners.len(), 1, "{:?} owners: {owners:?}", meta.name);
    let owner = &owners[0];
    assert_eq!(owner.kind, "KratosInstance");
    assert_eq!(owner.api_version, "kratos.rs/v1alpha1");
    assert_eq!(owner.name, instance.name_any());
    assert_eq!(Some(&owner.uid), instance.metadata.uid.as_ref());
    assert_eq!(owner.controller, Some(true));
}

/// Plays the Job controller: marks the Job complete.
async fn complete_job(client: &Client, namespace: &str, name: &str) {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    jobs.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "startTime": now, "completionTime": now, "succeeded": 1,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "lastTransitionTime": now}
            ]
        }})),
    )
    .await
    .unwrap_or_else(|error| panic!("cannot write the status of Job {name}: {error}"));
}

/// Plays the Deployment controller and kubelet: all desired pods exist, updated and ready.
async fn mark_deployment_ready(client: &Client, namespace: &str, name: &str) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = deployments.get(name).await.unwrap();
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    deployments
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": deployment.metadata.generation,
                "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas
            }})),
        )
        .await
        .unwrap();
}

/// Reasons of the events about the object `name`.
async fn event_reasons(client: &Client, namespace: &str, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|event| {
            event
                .regarding
                .as_ref()
                .and_then(|regarding| regarding.name.as_deref())
                == Some(name)
        })
        .filter_map(|event| event.reason)
        .collect();
    reasons.sort();
    reasons.dedup();
    reasons
}

async fn wait_events(client: &Client, namespace: &str, name: &str, expected: &[&str]) {
    eventually(&format!("events {expected:?} about {name}"), || async {
        let reasons = event_reasons(client, namespace, name).await;
        if expected
            .iter()
            .all(|reason| reasons.iter().any(|seen| seen == reason))
        {
            Ok(())
        } else {
            Err(format!("{reasons:?}"))
        }
    })
    .await;
}

fn server_container(deployment: &Deployment) -> Container {
    deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .clone()
}

fn config_hash(deployment: &Deployment) -> String {
    deployment
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap()[CONFIG_HASH]
        .clone()
}

/// (name of the Secret, key) an environment variable reads.
fn env_secret(container: &Container, name: &str) -> Option<(String, String)> {
    let env = container
        .env
        .as_ref()?
        .iter()
        .find(|env| env.name == name)?;
    let selector = env.value_from.as_ref()?.secret_key_ref.as_ref()?;
    Some((selector.name.clone(), selector.key.clone()))
}

fn kratos_yml(config: &ConfigMap) -> Value {
    serde_saphyr::from_str(&config.data.as_ref().unwrap()["kratos.yml"]).unwrap()
}

fn example_json(name: &str) -> Value {
    let path = repo_root().join(format!("examples/identity-schemas/{name}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The chart

#[tokio::test]
async fn the_chart_installs_crds_rbac_and_the_operator() {
    setup();
    let client = client().await;

    // The CRDs come from the chart, equal to the generated ones, and survive `helm uninstall`.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for generated in kratos_crds::generate::crds() {
        let name = generated.name_any();
        let installed = crds.get(&name).await.unwrap();
        assert_eq!(
            installed
                .annotations()
                .get("helm.sh/resource-policy")
                .map(String::as_str),
            Some("keep"),
            "{name}"
        );
        assert_eq!(
            installed
                .annotations()
                .get("meta.helm.sh/release-name")
                .map(String::as_str),
            Some(RELEASE)
        );
        let schema = |crd: &CustomResourceDefinition| {
            serde_json::to_value(&crd.spec.versions[0].schema).unwrap()
        };
        assert_eq!(
            schema(&installed),
            schema(&generated),
            "{name}: the chart's CRD differs from crds/"
        );
        let mut names = installed.spec.names.clone();
        assert_eq!(
            names.list_kind.take().as_deref(),
            Some(format!("{}List", generated.spec.names.kind).as_str())
        );
        assert_eq!(names, generated.spec.names);
        assert_eq!(
            installed.spec.versions[0].subresources,
            generated.spec.versions[0].subresources
        );
    }
    // The plain files install the same definitions.
    kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-f",
        "crds/",
    ]);

    // Least-privilege RBAC and a hardened, probed operator Deployment.
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let role = roles.get(RELEASE).await.unwrap();
    let rules = role.rules.unwrap();
    let secrets_rule = rules
        .iter()
        .find(|rule| rule.resources.as_deref() == Some(&["secrets".to_owned()][..]))
        .unwrap();
    assert_eq!(
        secrets_rule.verbs,
        ["get", "list", "watch", "create"],
        "Secrets are never updated or deleted"
    );
    assert!(rules.iter().any(|rule| {
        rule.api_groups.as_deref() == Some(&["kratos.rs".to_owned()][..])
            && rule
                .resources
                .as_ref()
                .unwrap()
                .contains(&"identityschemas".to_owned())
    }));
    assert!(
        !rules
            .iter()
            .any(|rule| rule.verbs.contains(&"*".to_owned()))
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), RELEASE_NAMESPACE);
    let operator = deployments.get(RELEASE).await.unwrap();
    let container = server_container(&operator);
    assert!(
        container
            .args
            .as_ref()
            .unwrap()
            .contains(&"--leader-election".to_owned())
    );
    assert_eq!(
        container
            .liveness_probe
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        container
            .readiness_probe
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/readyz")
    );
    let security = container.security_context.unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    let services: Api<Service> = Api::namespaced(client.clone(), RELEASE_NAMESPACE);
    let metrics = services.get(&format!("{RELEASE}-metrics")).await.unwrap();
    assert_eq!(metrics.spec.unwrap().ports.unwrap()[0].port, 8080);

    // Field documentation reaches `kubectl explain` (which wraps lines: compare word by word).
    let explain = |field: &str| {
        kubectl(&["explain", field])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let explained = explain("identityschema.spec.id");
    assert!(
        explained.contains("Immutable, because stored identities keep referring to it"),
        "{explained}"
    );
    let explained = explain("kratosinstance.spec.database.dsnSecretRef");
    assert!(
        explained.contains("The Secret key holding the data source name"),
        "{explained}"
    );
    let explained = explain("kratosinstance.spec.secrets.secretRef");
    assert!(explained.contains("never changes it"), "{explained}");
    let explained = explain("kratosinstance.status.conditions");
    assert!(
        explained.contains("lastTransitionTime` changes only when the status"),
        "{explained}"
    );
}

#[test]
fn the_operator_explains_missing_crds() {
    let setup = setup();
    match &setup.operator_without_crds {
        Some(exit) => {
            assert!(
                !exit.success,
                "the operator must exit when the CRDs are missing:\n{}",
                exit.output
            );
            assert!(
                exit.output
                    .contains("identityschemas.kratos.rs is not installed"),
                "{}",
                exit.output
            );
            assert!(
                exit.output.contains("kubectl apply --server-side -f crds/"),
                "{}",
                exit.output
            );
        }
        None if std::env::var("E2E_FRESH_CLUSTER").as_deref() == Ok("1") => {
            panic!(
                "e2e/run.sh started a fresh API server, yet the CRDs existed before the chart install"
            )
        }
        None => eprintln!("not checked: the CRDs existed in this cluster before the run"),
    }
}

// ---------------------------------------------------------------------------------------------
// IdentitySchemas

#[tokio::test]
async fn identity_schemas_are_validated_and_the_invalid_one_is_rejected() {
    setup();
    let client = client().await;
    let ns = namespace("schemas");
    let operator = Operator::for_namespace(&ns);
    apply_files(
        &ns,
        &[
            "examples/kubernetes/schemas/email-password.yaml",
            "examples/kubernetes/schemas/phone.yaml",
            "examples/kubernetes/schemas/username.yaml",
            "examples/kubernetes/schemas/customer.yaml",
            "examples/kubernetes/schemas/invalid.yaml",
        ],
    );
    let api: Api<IdentitySchema> = Api::namespaced(client.clone(), &ns);

    for name in ["email-password", "phone", "username", "customer"] {
        let schema = eventually(&format!("{name} Valid=True"), || async {
            let schema = api.get(name).await.map_err(|error| error.to_string())?;
            let status = schema.status.clone().ok_or("no status")?;
            match condition(&status.conditions, "Valid") {
                Some((s, r, _)) if s == "True" && r == "SchemaValid" => Ok(schema),
                other => Err(format!("{other:?}\n{}", operator.logs())),
            }
        })
        .await;
        let status = schema.status.unwrap();
        assert_eq!(condition(&status.conditions, "Ready").unwrap().0, "True");
        assert_eq!(status.observed_generation, schema.metadata.generation);
        assert!(status.validation_errors.is_empty());
        assert_eq!(
            status.content_hash,
            Some(kratos_crds::content_hash(&example_json(name)))
        );
    }

    let invalid = eventually("invalid Valid=False", || async {
        let schema = api
            .get("invalid")
            .await
            .map_err(|error| error.to_string())?;
        let status = schema.status.clone().ok_or("no status")?;
        match condition(&status.conditions, "Valid") {
            Some((s, _, _)) if s == "False" => Ok(status),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (_, reason, message) = condition(&invalid.conditions, "Valid").unwrap();
    assert_eq!(reason, "SchemaInvalid");
    assert!(
        message.starts_with("/properties/traits/properties/email/type"),
        "{message}"
    );
    assert_eq!(condition(&invalid.conditions, "Ready").unwrap().0, "False");
    let mut pointers: Vec<&str> = invalid
        .validation_errors
        .iter()
        .map(|error| error.pointer.as_str())
        .collect();
    pointers.sort_unstable();
    assert_eq!(
        pointers,
        [
            "/properties/traits/properties/email/ory.sh~1kratos/credentials/password/identifier",
            "/properties/traits/properties/email/ory.sh~1kratos/verification/via",
            "/properties/traits/properties/email/type",
        ]
    );

    // Visible where users look: the printer columns, `kubectl describe` and events.
    let table = kubectl(&["get", "identityschemas", "-n", &ns]);
    let row = table
        .lines()
        .find(|line| line.starts_with("invalid "))
        .unwrap_or_else(|| panic!("{table}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &columns[..4],
        ["invalid", "invalid", "False", "SchemaInvalid"],
        "{table}"
    );
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "SCHEMA", "ID", "VALID", "REASON", "USED", "BY", "AGE"
        ]
    );
    let valid_row = table
        .lines()
        .find(|line| line.starts_with("customer "))
        .unwrap();
    assert_eq!(
        &valid_row.split_whitespace().collect::<Vec<_>>()[..4],
        ["customer", "customer", "True", "SchemaValid"]
    );
    wait_events(&client, &ns, "invalid", &["SchemaInvalid"]).await;
    wait_events(&client, &ns, "customer", &["SchemaValid"]).await;
    let described = kubectl(&["describe", "identityschema", "invalid", "-n", &ns]);
    for expected in [
        "SchemaInvalid",
        "Validation Errors:",
        "/properties/traits/properties/email/ory.sh~1kratos/verification/via",
        "must be one of: email, sms",
    ] {
        assert!(
            described.contains(expected),
            "describe lacks {expected:?}:\n{described}"
        );
    }

    // The schema id is immutable (CEL rule in the CRD).
    let refused = run_failing(
        "kubectl",
        &[
            "patch",
            "identityschema",
            "customer",
            "-n",
            &ns,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"id":"renamed"}}"#,
        ],
    );
    assert!(refused.contains("id is immutable"), "{refused}");

    // Fixing the schema makes it valid again; Ready follows.
    api.patch(
        "invalid",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"schema": example_json("email-password")}})),
    )
    .await
    .unwrap();
    eventually("invalid becomes Valid", || async {
        let schema = api
            .get("invalid")
            .await
            .map_err(|error| error.to_string())?;
        let status = schema.status.clone().ok_or("no status")?;
        match (
            condition(&status.conditions, "Ready"),
            status.validation_errors.is_empty(),
        ) {
            (Some((s, r, _)), true) if s == "True" && r == "SchemaValid" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// KratosInstance lifecycle

#[tokio::test]
async fn the_minimal_instance_migrates_starts_rolls_scales_and_upgrades() {
    setup();
    let client = client().await;
    let ns = namespace("minimal");
    let operator = Operator::for_namespace(&ns);
    apply_files(
        &ns,
        &[
            "examples/kubernetes/schemas/email-password.yaml",
            "examples/kubernetes/minimal-postgres.yaml",
        ],
    );
    let instances: Api<KratosInstance> = Api::namespaced(client.clone(), &ns);

    // 1. First the migration Job; no server pod may start before it succeeds.
    let instance = wait_instance(&instances, "kratos", "Ready", "False", "Migrating").await;
    let status = instance.status.clone().unwrap();
    assert_eq!(
        instance_condition(&instance, "Progressing").unwrap().0,
        "True"
    );
    let migration = status.migration.clone().unwrap();
    let default_image = format!("ghcr.io/kratos-rs/kratos:{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(migration.image, default_image);
    let job_name = migration.job_name.unwrap();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let job = jobs.get(&job_name).await.unwrap();
    assert_owned(&job.metadata, &instance);
    let migrate = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .clone();
    assert_eq!(
        migrate.args.as_deref().unwrap(),
        ["migrate", "sql", "-e", "--yes"]
    );
    assert_eq!(migrate.image.as_deref(), Some(default_image.as_str()));
    assert_eq!(
        env_secret(&migrate, "DSN"),
        Some(("kratos-db".into(), "dsn".into()))
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    assert!(
        deployments.get_opt("kratos").await.unwrap().is_none(),
        "the server must wait for the migration"
    );

    // Every other child exists already, owned by the instance.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let config = config_maps.get("kratos-config").await.unwrap();
    assert_owned(&config.metadata, &instance);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    for name in ["kratos-public", "kratos-admin"] {
        let service = services.get(name).await.unwrap();
        assert_owned(&service.metadata, &instance);
        assert_eq!(service.spec.unwrap().type_.as_deref(), Some("ClusterIP"));
    }
    assert_owned(
        &Api::<ServiceAccount>::namespaced(client.clone(), &ns)
            .get("kratos")
            .await
            .unwrap()
            .metadata,
        &instance,
    );
    let role = Api::<Role>::namespaced(client.clone(), &ns)
        .get("kratos")
        .await
        .unwrap();
    assert_owned(&role.metadata, &instance);
    let rule = &role.rules.unwrap()[0];
    assert_eq!(
        (rule.resources.as_deref().unwrap(), &rule.verbs[..]),
        (
            &["identityschemas".to_owned()][..],
            &["get".to_owned(), "list".to_owned(), "watch".to_owned()][..]
        )
    );
    assert_owned(
        &Api::<RoleBinding>::namespaced(client.clone(), &ns)
            .get("kratos")
            .await
            .unwrap()
            .metadata,
        &instance,
    );
    let budget = Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
        .get("kratos")
        .await
        .unwrap();
    assert_owned(&budget.metadata, &instance);

    // The generated secrets: valid, and deliberately not owned (they outlive the instance).
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let generated = secrets.get("kratos-secrets").await.unwrap();
    assert!(generated.metadata.owner_references.is_none());
    let data = generated.data.unwrap();
    for key in ["default", "cookie", "cipher"] {
        let values: Vec<String> = serde_json::from_slice(&data[key].0).unwrap();
        assert!(values[0].len() >= 32, "{key}");
    }
    assert_eq!(
        status.secrets_secret_name.as_deref(),
        Some("kratos-secrets")
    );

    // The rendered configuration: the schema, the cluster watch block, no credentials.
    let rendered = kratos_yml(&config);
    assert_eq!(rendered["identity"]["default_schema_id"], "default");
    assert_eq!(
        rendered["identity"]["schemas"],
        json!([{"id": "default", "url": "file:///etc/kratos/schemas/default.schema.json", "selfservice_selectable": false}])
    );
    assert_eq!(
        rendered["kratos_rs"]["kubernetes"]["identity_schemas"],
        json!({
            "namespace": ns, "label_selector": "example.com/identity-schema=email-password", "instance": "kratos"
        })
    );
    assert_eq!(rendered["serve"]["public"]["port"], 4433);
    assert_eq!(rendered["serve"]["admin"]["port"], 4434);
    assert!(rendered.get("dsn").is_none() && rendered.get("secrets").is_none());
    let schema_file: Value =
        serde_json::from_str(&config.data.as_ref().unwrap()["default.schema.json"]).unwrap();
    assert_eq!(schema_file, example_json("email-password"));

    // 2. The migration succeeds: server and courier start with the migrated image.
    complete_job(&client, &ns, &job_name).await;
    let server = wait_object(&deployments, "kratos").await;
    assert_owned(&server.metadata, &instance);
    let container = server_container(&server);
    assert_eq!(container.image.as_deref(), Some(default_image.as_str()));
    assert_eq!(
        container.args.as_deref().unwrap(),
        ["serve", "-c", "/etc/kratos/kratos.yml"]
    );
    assert_eq!(
        env_secret(&container, "DSN"),
        Some(("kratos-db".into(), "dsn".into()))
    );
    assert_eq!(
        env_secret(&container, "SECRETS_DEFAULT"),
        Some(("kratos-secrets".into(), "default".into()))
    );
    assert_eq!(
        env_secret(&container, "SECRETS_COOKIE"),
        Some(("kratos-secrets".into(), "cookie".into()))
    );
    assert_eq!(
        env_secret(&container, "SECRETS_CIPHER"),
        Some(("kratos-secrets".into(), "cipher".into()))
    );
    assert_eq!(
        container
            .readiness_probe
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/health/ready")
    );
    assert_eq!(
        container
            .liveness_probe
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/health/alive")
    );
    let courier = wait_object(&deployments, "kratos-courier").await;
    assert_owned(&courier.metadata, &instance);
    assert_eq!(courier.spec.as_ref().unwrap().replicas, Some(1));
    assert_eq!(
        server_container(&courier).args.as_deref().unwrap(),
        ["courier", "watch", "-c", "/etc/kratos/kratos.yml"]
    );

    // 3. Pods become ready (written by the test): the instance is Ready.
    wait_instance(&instances, "kratos", "Ready", "False", "RollingOut").await;
    mark_deployment_ready(&client, &ns, "kratos").await;
    let instance = wait_instance(&instances, "kratos", "Ready", "True", "AllReplicasReady").await;
    assert_eq!(
        instance_condition(&instance, "Progressing").unwrap().1,
        "RolloutComplete"
    );
    assert_eq!(
        instance_condition(&instance, "Degraded").unwrap(),
        (
            "False".into(),
            "AsExpected".into(),
            "no problems found".into()
        )
    );
    let status = instance.status.clone().unwrap();
    assert_eq!((status.replicas, status.ready_replicas), (1, 1));
    assert_eq!(status.observed_generation, instance.metadata.generation);
    assert_eq!(status.image.as_deref(), Some(default_image.as_str()));
    assert_eq!(
        status.config_hash.as_deref(),
        Some(config_hash(&server).as_str())
    );
    assert_eq!(
        status.endpoints.as_ref().unwrap().public,
        format!("http://kratos-public.{ns}.svc:4433")
    );
    assert_eq!(status.schemas.len(), 1);
    assert_eq!(
        status.schemas[0].content_hash,
        kratos_crds::content_hash(&example_json("email-password"))
    );
    assert_eq!(
        status.selector.as_deref(),
        Some(
            "app.kubernetes.io/component=server,app.kubernetes.io/instance=kratos,app.kubernetes.io/name=kratos"
        )
    );
    let table = kubectl(&["get", "kratosinstances", "-n", &ns]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        &row[..5],
        ["kratos", "True", "AllReplicasReady", "1", "1"],
        "{table}"
    );
    wait_events(
        &client,
        &ns,
        "kratos",
        &[
            "SecretsGenerated",
            "Migrating",
            "MigrationSucceeded",
            "AllReplicasReady",
        ],
    )
    .await;

    // 4. A referenced Secret changes: the pod templates change, so the pods roll.
    let before = config_hash(&server);
    let rotated =
        json!({"data": {"dsn": base64("postgres://kratos:rotated@postgres:5432/kratos")}})
            .to_string();
    kubectl(&["patch", "secret", "kratos-db", "-n", &ns, "-p", &rotated]);
    let rolled = eventually(
        "the config hash to change after the Secret change",
        || async {
            let server = deployments
                .get("kratos")
                .await
                .map_err(|error| error.to_string())?;
            if config_hash(&server) != before {
                Ok(server)
            } else {
                Err(format!("still {before}\n{}", operator.logs()))
            }
        },
    )
    .await;
    let courier = deployments.get("kratos-courier").await.unwrap();
    assert_eq!(
        config_hash(&courier),
        config_hash(&rolled),
        "the courier rolls too"
    );
    wait_events(&client, &ns, "kratos", &["ConfigChanged"]).await;
    let instance = wait_instance(&instances, "kratos", "Ready", "False", "RollingOut").await;
    assert_eq!(
        instance.status.unwrap().config_hash.as_deref(),
        Some(config_hash(&rolled).as_str())
    );
    mark_deployment_ready(&client, &ns, "kratos").await;
    wait_instance(&instances, "kratos", "Ready", "True", "AllReplicasReady").await;

    // 5. The scale subresource drives the Deployment.
    kubectl(&[
        "scale",
        "kratosinstance",
        "kratos",
        "-n",
        &ns,
        "--replicas=3",
    ]);
    eventually("the Deployment to have 3 replicas", || async {
        let server = deployments
            .get("kratos")
            .await
            .map_err(|error| error.to_string())?;
        match server.spec.and_then(|spec| spec.replicas) {
            Some(3) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    mark_deployment_ready(&client, &ns, "kratos").await;
    let instance = wait_instance(&instances, "kratos", "Ready", "True", "AllReplicasReady").await;
    assert_eq!(instance.status.unwrap().ready_replicas, 3);
    let scale = kubectl(&[
        "get",
        "--raw",
        &format!("/apis/kratos.rs/v1alpha1/namespaces/{ns}/kratosinstances/kratos/scale"),
    ]);
    let scale: Value = serde_json::from_str(&scale).unwrap();
    assert_eq!(scale["status"]["replicas"], 3);
    assert_eq!(
        scale["status"]["selector"],
        "app.kubernetes.io/component=server,app.kubernetes.io/instance=kratos,app.kubernetes.io/name=kratos"
    );

    // 6. A new image: migrated first, the pods keep the old image until the Job succeeds.
    let new_image = "ghcr.io/kratos-rs/kratos:99.0.0";
    instances
        .patch(
            "kratos",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"image": new_image}})),
        )
        .await
        .unwrap();
    let instance = wait_instance(&instances, "kratos", "Ready", "False", "Migrating").await;
    let migration = instance.status.unwrap().migration.unwrap();
    assert_eq!(migration.image, new_image);
    let upgrade_job = migration.job_name.unwrap();
    assert_ne!(upgrade_job, job_name);
    let job = wait_object(&jobs, &upgrade_job).await;
    assert_eq!(
        job.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some(new_image)
    );
    assert_eq!(
        server_container(&deployments.get("kratos").await.unwrap())
            .image
            .as_deref(),
        Some(default_image.as_str())
    );
    complete_job(&client, &ns, &upgrade_job).await;
    eventually("the server to run the new image", || async {
        let server = deployments
            .get("kratos")
            .await
            .map_err(|error| error.to_string())?;
        let image = server_container(&server).image;
        if image.as_deref() == Some(new_image) {
            Ok(())
        } else {
            Err(format!("{image:?}"))
        }
    })
    .await;
    assert_eq!(
        server_container(&deployments.get("kratos-courier").await.unwrap())
            .image
            .as_deref(),
        Some(new_image)
    );
}

#[tokio::test]
async fn a_missing_secret_is_reported_and_resolved_without_invented_credentials() {
    setup();
    let client = client().await;
    let ns = namespace("missing-secret");
    let _operator = Operator::for_namespace(&ns);
    apply_files(&ns, &["examples/kubernetes/schemas/username.yaml"]);
    let instance = json!({
        "apiVersion": "kratos.rs/v1alpha1", "kind": "KratosInstance",
        "metadata": {"name": "accounts"},
        "spec": {
            "database": {"dsnSecretRef": {"name": "accounts-db", "key": "dsn"}},
            "secrets": {"secretRef": {"name": "accounts-secrets"}},
            "identity": {"schemaSelector": {"matchLabels": {"example.com/identity-schema": "username"}}},
            "config": {"selfservice": {"default_browser_return_url": "https://accounts.example.com/"}}
        }
    });
    let instances: Api<KratosInstance> = Api::namespaced(client.clone(), &ns);
    instances
        .create(
            &Default::default(),
            &serde_json::from_value(instance).unwrap(),
        )
        .await
        .unwrap();

    let instance = wait_instance(&instances, "accounts", "Ready", "False", "SecretNotFound").await;
    let (_, _, message) = instance_condition(&instance, "Ready").unwrap();
    assert!(message.contains("accounts-db"), "{message}");
    assert_eq!(
        instance_condition(&instance, "Degraded").unwrap().1,
        "SecretNotFound"
    );
    wait_events(&client, &ns, "accounts", &["SecretNotFound"]).await;
    let table = kubectl(&["get", "kratosinstances", "-n", &ns]);
    assert!(
        table
            .lines()
            .any(|line| line.split_whitespace().take(3).eq([
                "accounts",
                "False",
                "SecretNotFound"
            ])),
        "{table}"
    );
    // Nothing was rendered, and no credentials were made up.
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    assert!(
        config_maps
            .get_opt("accounts-config")
            .await
            .unwrap()
            .is_none()
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let names: Vec<String> = secrets
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(
        !names.iter().any(|name| name.starts_with("accounts")),
        "{names:?}"
    );

    // The DSN appears; now the secrets Secret is the missing one.
    kubectl(&[
        "create",
        "secret",
        "generic",
        "accounts-db",
        "-n",
        &ns,
        "--from-literal=dsn=postgres://kratos:pw@postgres:5432/accounts",
    ]);
    eventually("the condition to name accounts-secrets", || async {
        let instance = instances
            .get("accounts")
            .await
            .map_err(|error| error.to_string())?;
        match instance_condition(&instance, "Ready") {
            Some((s, r, m))
                if s == "False"
                    && r == "SecretNotFound"
                    && m.contains("accounts-secrets (spec.secrets.secretRef)") =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // A malformed secrets Secret is refused without echoing its values.
    kubectl(&[
        "create",
        "secret",
        "generic",
        "accounts-secrets",
        "-n",
        &ns,
        "--from-literal=default=[\"a-signing-secret-long-enough\"]",
        "--from-literal=cipher=[\"too-short-cipher\"]",
    ]);
    let instance = wait_instance(&instances, "accounts", "Ready", "False", "SecretInvalid").await;
    let message = instance_condition(&instance, "Ready").unwrap().2;
    assert!(
        message.contains("key cipher") && message.contains("exactly 32 characters"),
        "{message}"
    );
    assert!(!message.contains("too-short-cipher"), "{message}");

    // Fixed: the instance proceeds to its migration.
    let fixed =
        json!({"data": {"cipher": base64(r#"["0123456789abcdef0123456789abcdef"]"#)}}).to_string();
    kubectl(&[
        "patch",
        "secret",
        "accounts-secrets",
        "-n",
        &ns,
        "-p",
        &fixed,
    ]);
    let instance = wait_instance(&instances, "accounts", "Ready", "False", "Migrating").await;
    assert_eq!(
        instance_condition(&instance, "Degraded").unwrap().0,
        "False"
    );
    assert!(
        config_maps
            .get_opt("accounts-config")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_production_example_renders_referenced_secrets_smtp_and_overrides() {
    setup();
    let client = client().await;
    let ns = namespace("production");
    let _operator = Operator::for_namespace(&ns);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "shop-kratos-db",
        "-n",
        &ns,
        "--from-literal=dsn=postgres://kratos:pw@postgres.db.svc:5432/kratos?sslmode=require",
    ]);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "shop-kratos-secrets",
        "-n",
        &ns,
        "--from-literal=default=[\"0123456789abcdef0123456789abcdef0123456789abcdef\"]",
        "--from-literal=cookie=[\"fedcba9876543210fedcba9876543210fedcba9876543210\"]",
        "--from-literal=cipher=[\"0123456789abcdef0123456789abcdef\"]",
    ]);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "shop-kratos-smtp",
        "-n",
        &ns,
        "--from-literal=connectionURI=smtps://kratos:pw@mail.example.com:465/",
    ]);
    apply_files(
        &ns,
        &[
            "examples/kubernetes/schemas/customer.yaml",
            "examples/kubernetes/schemas/phone.yaml",
            "examples/kubernetes/production.yaml",
        ],
    );
    let instances: Api<KratosInstance> = Api::namespaced(client.clone(), &ns);
    let instance = wait_instance(&instances, "shop", "Ready", "False", "Migrating").await;
    let status = instance.status.unwrap();
    assert_eq!(
        status.secrets_secret_name.as_deref(),
        Some("shop-kratos-secrets")
    );
    let served: Vec<(String, bool)> = status
        .schemas
        .iter()
        .map(|schema| (schema.id.clone(), schema.default))
        .collect();
    assert_eq!(
        served,
        [("customer".to_owned(), true), ("phone".to_owned(), false)]
    );
    complete_job(&client, &ns, &status.migration.unwrap().job_name.unwrap()).await;

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let server = wait_object(&deployments, "shop").await;
    let spec = server.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(3));
    let pod = spec.template.spec.unwrap();
    assert_eq!(
        pod.termination_grace_period_seconds,
        Some(45),
        "from spec.podTemplate"
    );
    assert_eq!(
        spec.template.metadata.unwrap().annotations.unwrap()["prometheus.io/scrape"],
        "false"
    );
    assert_eq!(
        pod.topology_spread_constraints.unwrap()[0].topology_key,
        "topology.kubernetes.io/zone"
    );
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("ghcr.io/kratos-rs/kratos:0.1.0")
    );
    assert_eq!(
        container
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["cpu"]
            .0,
        "250m"
    );
    assert_eq!(
        env_secret(container, "SECRETS_CIPHER"),
        Some(("shop-kratos-secrets".into(), "cipher".into()))
    );
    assert_eq!(
        env_secret(container, "COURIER_SMTP_CONNECTION_URI"),
        Some(("shop-kratos-smtp".into(), "connectionURI".into()))
    );
    let courier = wait_object(&deployments, "shop-courier").await;
    assert_eq!(
        courier
            .spec
            .as_ref()
            .unwrap()
            .strategy
            .as_ref()
            .unwrap()
            .type_
            .as_deref(),
        Some("Recreate")
    );
    assert_eq!(
        env_secret(&server_container(&courier), "COURIER_SMTP_CONNECTION_URI"),
        Some(("shop-kratos-smtp".into(), "connectionURI".into()))
    );

    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    assert_eq!(
        services
            .get("shop-public")
            .await
            .unwrap()
            .spec
            .unwrap()
            .ports
            .unwrap()[0]
            .port,
        80
    );
    let config = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("shop-config")
        .await
        .unwrap();
    let rendered = kratos_yml(&config);
    assert_eq!(rendered["identity"]["default_schema_id"], "customer");
    assert_eq!(
        rendered["serve"]["public"]["base_url"],
        "https://shop.example.com/.ory/kratos/"
    );
    assert_eq!(
        rendered["courier"]["smtp"]["from_address"],
        "no-reply@shop.example.com"
    );
    assert_eq!(
        rendered["kratos_rs"]["kubernetes"]["identity_schemas"]["label_selector"],
        "example.com/identity-schema in (customer,phone)"
    );
    assert!(!config.data.as_ref().unwrap()["kratos.yml"].contains("smtps://"));
    let data = config.data.unwrap();
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["customer.schema.json", "kratos.yml", "phone.schema.json"]
    );

    // Each schema knows who uses it.
    let schemas: Api<IdentitySchema> = Api::namespaced(client.clone(), &ns);
    for (name, default) in [("customer", true), ("phone", false)] {
        eventually(&format!("{name} usedBy"), || async {
            let used_by = schemas
                .get(name)
                .await
                .map_err(|error| error.to_string())?
                .status
                .map(|status| status.used_by)
                .unwrap_or_default();
            match used_by.as_slice() {
                [user] if user.instance == "shop" && user.default == default => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    mark_deployment_ready(&client, &ns, "shop").await;
    let instance = wait_instance(&instances, "shop", "Ready", "True", "AllReplicasReady").await;
    assert_eq!(instance.status.unwrap().ready_replicas, 3);
}

#[tokio::test]
async fn schema_changes_reach_the_config_without_restarts_and_bad_ones_keep_the_last_good() {
    setup();
    let client = client().await;
    let ns = namespace("schema-change");
    let _operator = Operator::for_namespace(&ns);
    apply_files(
        &ns,
        &[
            "examples/kubernetes/schemas/email-password.yaml",
            "examples/kubernetes/minimal-postgres.yaml",
        ],
    );
    let instances: Api<KratosInstance> = Api::namespaced(client.clone(), &ns);
    let instance = wait_instance(&instances, "kratos", "Ready", "False", "Migrating").await;
    complete_job(
        &client,
        &ns,
        &instance
            .status
            .unwrap()
            .migration
            .unwrap()
            .job_name
            .unwrap(),
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let server = wait_object(&deployments, "kratos").await;
    mark_deployment_ready(&client, &ns, "kratos").await;
    wait_instance(&instances, "kratos", "Ready", "True", "AllReplicasReady").await;
    let hash = config_hash(&server);

    // A compatible change: a new optional trait. The ConfigMap follows, the pods do not restart
    // (servers reload schemas), and the served content hash matches the schema's. No server
    // process runs in this test to check the change against stored identities, so the policy
    // is Allow (the journey suite covers the check with real servers).
    let mut schema = example_json("email-password");
    schema["properties"]["traits"]["properties"]["nickname"] =
        json!({"type": "string", "maxLength": 40});
    let schemas: Api<IdentitySchema> = Api::namespaced(client.clone(), &ns);
    schemas
        .patch(
            "email-password",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"schema": schema, "compatibility": {"policy": "Allow"}}}),
            ),
        )
        .await
        .unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    eventually("the ConfigMap to carry the new schema", || async {
        let config = config_maps
            .get("kratos-config")
            .await
            .map_err(|error| error.to_string())?;
        let file: Value = serde_json::from_str(&config.data.unwrap()["default.schema.json"])
            .map_err(|error| error.to_string())?;
        if file == schema {
            Ok(())
        } else {
            Err("old schema".to_owned())
        }
    })
    .await;
    let expected_hash = kratos_crds::content_hash(&schema);
    eventually("status.schemas to report the new hash", || async {
        let instance = instances
            .get("kratos")
            .await
            .map_err(|error| error.to_string())?;
        let served = instance
            .status
            .map(|status| status.schemas)
            .unwrap_or_default();
        if served
            .first()
            .is_some_and(|schema| schema.content_hash == expected_hash)
        {
            Ok(())
        } else {
            Err(format!("{served:?}"))
        }
    })
    .await;
    assert_eq!(
        config_hash(&deployments.get("kratos").await.unwrap()),
        hash,
        "a schema change must not restart the pods"
    );

    // A broken change: rejected, the last good version stays served, the instance says why.
    let mut broken = schema.clone();
    broken["properties"]["traits"]["properties"]["email"]["ory.sh/kratos"]["recovery"]["via"] =
        json!("fax");
    schemas
        .patch(
            "email-password",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"schema": broken}})),
        )
        .await
        .unwrap();
    let instance = wait_instance(&instances, "kratos", "Degraded", "True", "SchemaRejected").await;
    assert!(
        instance_condition(&instance, "Degraded")
            .unwrap()
            .2
            .contains("last accepted version")
    );
    assert_eq!(
        instance_condition(&instance, "Ready").unwrap().0,
        "True",
        "the last good schema keeps serving"
    );
    let config = config_maps.get("kratos-config").await.unwrap();
    let file: Value = serde_json::from_str(&config.data.unwrap()["default.schema.json"]).unwrap();
    assert_eq!(file, schema);
    wait_events(&client, &ns, "kratos", &["SchemaRejected"]).await;
}

// ---------------------------------------------------------------------------------------------
// Running as a workload

#[tokio::test]
async fn leader_election_health_and_metrics() {
    setup();
    let client = client().await;
    let ns = namespace("leader");
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let holder = || async {
        leases
            .get_opt("kratos-operator")
            .await
            .map_err(|error| error.to_string())?
            .and_then(|lease| lease.spec?.holder_identity)
            .ok_or_else(|| "no holder".to_owned())
    };
    let args = |identity: &'static str| {
        [
            "--namespace",
            ns.as_str(),
            "--leader-election",
            "--leader-election-namespace",
            ns.as_str(),
            "--identity",
            identity,
        ]
    };
    let mut first = Operator::start("leader-a", &args("operator-a"));
    let leader = eventually("operator-a to hold the lease", || async {
        holder()
            .await
            .and_then(|h| if h == "operator-a" { Ok(h) } else { Err(h) })
    })
    .await;
    assert_eq!(leader, "operator-a");
    assert_eq!(first.get("/healthz"), (200, "ok".to_owned()));
    eventually("operator-a ready", || async {
        match first.get("/readyz") {
            (200, _) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let second = Operator::start("leader-b", &args("operator-b"));
    eventually("operator-b ready on standby", || async {
        match second.get("/readyz") {
            (200, _) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Only the leader reconciles.
    apply_files(&ns, &["examples/kubernetes/schemas/phone.yaml"]);
    eventually("operator-a to have reconciled the schema", || async {
        let (_, metrics) = first.get("/metrics");
        if metrics.contains(
            r#"kratos_operator_reconcile_duration_seconds_count{controller="identityschema"}"#,
        ) {
            Ok(())
        } else {
            Err(metrics)
        }
    })
    .await;
    let (_, standby) = second.get("/metrics");
    assert!(standby.contains("kratos_operator_leader 0"), "{standby}");
    assert!(
        !standby.contains("kratos_operator_reconciles_total{"),
        "{standby}"
    );
    let (_, leading) = first.get("/metrics");
    assert!(leading.contains("kratos_operator_leader 1"), "{leading}");
    assert!(
        leading.contains(r#"kratos_operator_reconciles_total{controller="identityschema"}"#),
        "{leading}"
    );
    assert_eq!(holder().await.unwrap(), "operator-a");

    // SIGTERM: the leader finishes, releases the lease, and the standby takes over.
    assert!(
        first.terminate(),
        "graceful shutdown exits with success:\n{}",
        first.logs()
    );
    eventually("operator-b to take over", || async {
        holder()
            .await
            .and_then(|h| if h == "operator-b" { Ok(h) } else { Err(h) })
    })
    .await;
    eventually("operator-b to lead", || async {
        let (_, metrics) = second.get("/metrics");
        if metrics.contains("kratos_operator_leader 1") {
            Ok(())
        } else {
            Err(metrics)
        }
    })
    .await;
    // JSON logs, one object per line.
    let logs = first.logs();
    let lines: Vec<&str> = logs.lines().filter(|line| !line.is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert!(
            entry["level"].is_string() && entry["message"].is_string(),
            "{line}"
        );
    }
    assert!(logs.contains("released the leader lease"), "{logs}");
}
