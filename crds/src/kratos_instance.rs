//! `KratosInstance`: one kratos-rs deployment (server pods, courier worker, config, services).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema_util::{conditions_schema, optional_free_form_object};

/// Port the server's public API listens on inside the pod.
pub const PUBLIC_CONTAINER_PORT: i32 = 4433;
/// Port the server's admin API listens on inside the pod.
pub const ADMIN_CONTAINER_PORT: i32 = 4434;

/// Desired state of a KratosInstance.
// Printer columns repeat `type_ = ...`, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kratos.rs",
    version = "v1alpha1",
    kind = "KratosInstance",
    plural = "kratosinstances",
    namespaced,
    status = "KratosInstanceStatus",
    shortname = "ki",
    category = "kratos",
    doc = "A kratos-rs identity server: the operator runs it as a Deployment with a rendered \
           kratos.yml, public and admin Services, a database migration Job before each version \
           change, and a singleton courier worker that delivers emails and SMS.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#,
        description = "Whether all server replicas run the desired configuration and are ready"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].reason"#,
        description = "Why the instance is (not) ready"
    ),
    printcolumn(
        name = "Replicas",
        type_ = "integer",
        json_path = ".spec.replicas",
        description = "Desired number of server pods"
    ),
    printcolumn(
        name = "Available",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Server pods that are ready"
    ),
    printcolumn(
        name = "Image",
        type_ = "string",
        json_path = ".status.image",
        priority = 1,
        description = "Server image currently rolled out"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.size() <= 40").message(
        "the name of a KratosInstance is at most 40 characters: it prefixes the names of its \
         Services, Deployments and Jobs"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.courier.dedicatedWorker || self.replicas <= 1",
    "message": "with courier.dedicatedWorker=false every server pod runs a courier; use at most one replica or a dedicated worker"
}]))]
pub struct KratosInstanceSpec {
    /// Number of server pods. Also settable through the scale subresource
    /// (`kubectl scale kratosinstance/<name> --replicas=N`, HorizontalPodAutoscaler).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0))]
    pub replicas: i32,

    /// Server container image. Defaults to `ghcr.io/kratos-rs/kratos:<operator version>`.
    /// Changing it runs the database migration Job for the new image before the pods roll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// Image pull policy of the server, migration and courier containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Secrets holding credentials for pulling the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// The database.
    pub database: Database,

    /// Signing and encryption secrets (kratos.yml `secrets`).
    #[serde(default)]
    pub secrets: Secrets,

    /// Which IdentitySchemas this instance serves.
    pub identity: Identity,

    /// Delivery of emails and SMS (verification, recovery, login codes).
    #[serde(default)]
    pub courier: Courier,

    /// Database migrations.
    #[serde(default)]
    pub migration: Migration,

    /// Free-form kratos.yml settings (selfservice flows, session, cookies, serve.*.base_url,
    /// courier templates, ...), in Kratos's own configuration format. The operator merges its
    /// own keys over it and those win: `identity`, `serve.public.port`, `serve.admin.port`,
    /// `kratos_rs`. Credentials never belong here: `dsn`, `secrets` and
    /// `courier.smtp.connection_uri` are dropped (with a warning event) because they come from
    /// Secrets. `selfservice.default_browser_return_url` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_free_form_object")]
    pub config: Option<Map<String, Value>>,

    /// The public and admin Services.
    #[serde(default)]
    pub service: Services,

    /// CPU and memory requests and limits of the server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Where the server pods may run.
    #[serde(default)]
    pub scheduling: Scheduling,

    /// Escape hatch merged over the rendered server pod template (`metadata` and `spec` of a
    /// PodTemplateSpec). Objects merge recursively; lists of named items (`containers`,
    /// `volumes`, `env`, `volumeMounts`, ...) merge by `name`; other lists and scalars replace;
    /// `null` removes a key. Example: `{spec: {containers: [{name: kratos, env: [{name: LOG_LEVEL,
    /// value: debug}]}]}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_free_form_object")]
    pub pod_template: Option<Map<String, Value>>,
}

fn default_replicas() -> i32 {
    1
}

fn default_true() -> bool {
    true
}

/// Image pull policy of the server, migration and courier containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ImagePullPolicy {
    /// Always pull.
    Always,
    /// Pull only if the image is not on the node.
    IfNotPresent,
    /// Never pull.
    Never,
}

impl ImagePullPolicy {
    /// The value Kubernetes expects in a container's `imagePullPolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// A key of a Secret in the instance's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A Secret in the instance's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Database settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// The Secret key holding the data source name, e.g.
    /// `postgres://kratos:password@postgres:5432/kratos?sslmode=require`. PostgreSQL, MySQL and
    /// SQLite DSNs are accepted; passed to the server as the `DSN` environment variable. A change
    /// to the value rolls the pods.
    pub dsn_secret_ref: SecretKeyRef,
}

/// Signing and encryption secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secrets {
    /// A Secret with the keys `default` (required), `cookie` and `cipher` (optional), each a
    /// JSON array of strings, e.g. `["new-secret-at-least-16-chars", "older-secret"]`: the first
    /// entry signs or encrypts, the others still verify or decrypt, which allows rotation.
    /// `default` and `cookie` entries need at least 16 characters, `cipher` entries exactly 32.
    /// When unset, the operator creates `<instance>-secrets` once with random values and never
    /// changes it; that Secret is kept when the instance is deleted, because the cipher secret is
    /// needed to read data already encrypted in the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// Which IdentitySchemas the instance serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Label selector over IdentitySchemas in the instance's namespace. An empty selector (`{}`)
    /// selects all of them. The servers watch the selected schemas and pick up changes without a
    /// restart; the operator also renders them into the ConfigMap.
    pub schema_selector: LabelSelector,

    /// The `spec.id` of the schema used when a flow does not ask for one (kratos.yml
    /// `identity.default_schema_id`). May be omitted when exactly one schema is selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_schema_id: Option<String>,
}

/// Courier (message delivery) settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Courier {
    /// Run message delivery in a dedicated singleton Deployment `<instance>-courier` (one pod,
    /// recreated rather than surged on updates, so two workers never overlap). When false, the
    /// server pod delivers messages itself (`--watch-courier`), which allows at most one replica.
    #[serde(default = "default_true")]
    pub dedicated_worker: bool,

    /// SMTP delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Smtp>,
}

impl Default for Courier {
    fn default() -> Self {
        Self {
            dedicated_worker: true,
            smtp: None,
        }
    }
}

/// SMTP settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Smtp {
    /// The Secret key holding the SMTP connection URI, e.g.
    /// `smtps://user:password@mail.example.com:465/`; passed as `COURIER_SMTP_CONNECTION_URI`.
    /// Sender address and templates go in `config.courier`.
    pub connection_uri_secret_ref: SecretKeyRef,
}

/// Database migration settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// Run `migrate sql -e --yes` in a Job with the new image before the server pods move to a
    /// new image (and before the first start). Pods keep running the previous image until the
    /// Job succeeds. Disable only if migrations are applied some other way.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Default for Migration {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The instance's Services.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Services {
    /// Service `<instance>-public` for the public API (browsers and apps).
    #[serde(default)]
    pub public: PublicService,
    /// Service `<instance>-admin` for the admin API. Always of type ClusterIP: the admin API
    /// has no authentication and must not leave the cluster network.
    #[serde(default)]
    pub admin: AdminService,
}

/// The public Service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicService {
    /// Service port of the public API.
    #[serde(default = "default_public_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Service type.
    #[serde(default, rename = "type")]
    pub type_: ServiceType,
    /// Annotations on the Service (load balancer settings and the like).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Default for PublicService {
    fn default() -> Self {
        Self {
            port: PUBLIC_CONTAINER_PORT,
            type_: ServiceType::default(),
            annotations: BTreeMap::new(),
        }
    }
}

fn default_public_port() -> i32 {
    PUBLIC_CONTAINER_PORT
}

/// The admin Service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminService {
    /// Service port of the admin API.
    #[serde(default = "default_admin_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Annotations on the Service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Default for AdminService {
    fn default() -> Self {
        Self {
            port: ADMIN_CONTAINER_PORT,
            annotations: BTreeMap::new(),
        }
    }
}

fn default_admin_port() -> i32 {
    ADMIN_CONTAINER_PORT
}

/// Kubernetes Service type of the public Service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    /// Reachable inside the cluster only (put an Ingress or Gateway in front).
    #[default]
    ClusterIP,
    /// Also exposed on a port of every node.
    NodePort,
    /// Also exposed through a cloud load balancer.
    LoadBalancer,
}

impl ServiceType {
    /// The value Kubernetes expects in a Service's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIP => "ClusterIP",
            Self::NodePort => "NodePort",
            Self::LoadBalancer => "LoadBalancer",
        }
    }
}

/// Placement of the server pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scheduling {
    /// Node labels the pods require.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Node and pod (anti-)affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// How pods spread across zones and nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// Observed state of a KratosInstance, written by the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KratosInstanceStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready`: all server replicas run the desired configuration and are ready. `Progressing`:
    /// a migration or rollout is under way. `Degraded`: something needs attention (missing
    /// Secret, failed migration, invalid schema, ...). Reasons are stable CamelCase identifiers;
    /// `lastTransitionTime` changes only when the status of a condition changes.
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,

    /// Server pods that exist (the Deployment's replicas; scale subresource).
    #[serde(default)]
    pub replicas: i32,

    /// Server pods that are ready.
    #[serde(default)]
    pub ready_replicas: i32,

    /// Label selector of the server pods, in string form (scale subresource, HPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,

    /// Server image currently rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,

    /// Hash of the rendered kratos.yml and of the referenced Secret values, also set as the
    /// `kratos.rs/config-hash` annotation of the pod template: when it changes, the pods roll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,

    /// The identity schemas rendered into the configuration.
    #[serde(default)]
    pub schemas: Vec<ServedSchema>,

    /// Name of the Secret holding the signing and encryption secrets (referenced or generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_secret_name: Option<String>,

    /// State of the database migration for the desired image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationStatus>,

    /// In-cluster URLs of the APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
}

/// An identity schema an instance serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServedSchema {
    /// The schema id.
    pub id: String,
    /// The IdentitySchema object it comes from.
    pub source: String,
    /// Content hash of the rendered schema (see IdentitySchema status.contentHash).
    pub content_hash: String,
    /// Whether it is the default schema.
    #[serde(default)]
    pub default: bool,
}

/// Migration progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    /// Pending, Running, Succeeded, Failed or Disabled.
    pub state: MigrationState,
    /// The image whose migrations this describes.
    pub image: String,
    /// The migration Job, if one was needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Details, e.g. why the Job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MigrationState {
    /// A migration is needed but its Job was not created yet.
    Pending,
    /// The migration Job runs; the pods keep the previous image.
    Running,
    /// The database is migrated for the image.
    Succeeded,
    /// The migration Job failed; the pods keep the previous image.
    Failed,
    /// Migrations are disabled (spec.migration.enabled=false).
    Disabled,
}

/// In-cluster URLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// Public API, e.g. `http://<instance>-public.<namespace>.svc:4433`.
    pub public: String,
    /// Admin API, e.g. `http://<instance>-admin.<namespace>.svc:4434`.
    pub admin: String,
}
