//! The KratosInstance reconciler: resolves Secrets and IdentitySchemas, renders the children,
//! applies them with server-side apply, and reports conditions and events.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::jiff::Timestamp;
use kratos_crds::conditions::{reasons, types};
use kratos_crds::kratos_instance::{MigrationState, MigrationStatus};
use kratos_crds::{IdentitySchema, KratosInstance, KratosInstanceStatus, check_identity_schema};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::Selector;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::conditions::{self, Desired};
use crate::context::Context;
use crate::error::Error;
use crate::migration::{self, MigrationPlan};
use crate::render::config::{
    ConfigError, SecretDigest, ServedSchema, config_hash, config_map, render_kratos_yml, schema_key,
};
use crate::render::secrets::{SecretsKeys, SecretsProblem, check_secrets_data, generated_secrets};
use crate::render::workloads::{
    PodInputs, SERVER_CONTAINER, courier_deployment, desired_image, migration_job,
    migration_job_name, server_deployment,
};
use crate::render::{self, MANAGER, RenderError, names, rbac, services};

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "kratosinstance";

/// Retry interval while the instance is blocked on something the user must fix; watches on
/// Secrets and IdentitySchemas usually trigger a reconcile sooner.
const BLOCKED_REQUEUE: Duration = Duration::from_secs(30);
/// Re-check interval during a migration or rollout (Job and Deployment changes also trigger).
const PROGRESS_REQUEUE: Duration = Duration::from_secs(60);
/// Periodic re-check of a settled instance, to repair drift of children.
const SETTLED_REQUEUE: Duration = Duration::from_secs(300);

/// Why an instance cannot be rendered: something the user must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub reason: &'static str,
    pub message: String,
}

impl Blocked {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// Reconciles one KratosInstance.
pub async fn reconcile(instance: Arc<KratosInstance>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile(CONTROLLER);
    let result = reconcile_instance(&instance, &ctx).await;
    timer.done();
    if result.is_ok() {
        ctx.backoff.reset(&object_key(instance.as_ref()));
    }
    result
}

/// Retries a failed reconcile with per-object exponential back-off.
pub fn error_policy(instance: Arc<KratosInstance>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.metric_reason());
    let key = object_key(instance.as_ref());
    let delay = ctx.backoff.next_delay(&key);
    tracing::warn!(instance = %key, %error, retry_in_seconds = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

fn object_key<K: Resource>(object: &K) -> String {
    format!(
        "{}/{}",
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

async fn reconcile_instance(instance: &KratosInstance, ctx: &Context) -> Result<Action, Error> {
    let namespace = render::namespace(instance)?;
    let previous = instance.status.clone().unwrap_or_default();
    match plan(instance, ctx, &namespace).await? {
        Err(blocked) => {
            report_blocked(instance, ctx, &previous, &blocked).await?;
            Ok(Action::requeue(BLOCKED_REQUEUE))
        }
        Ok(plan) => match apply(instance, ctx, &namespace, &previous, plan).await {
            Ok(action) => Ok(action),
            Err(error) => {
                // Make the failure visible on the object, then retry with back-off.
                let blocked = Blocked::new(reasons::APPLY_FAILED, error.to_string());
                if let Err(status_error) = report_blocked(instance, ctx, &previous, &blocked).await
                {
                    tracing::warn!(%status_error, "cannot record the apply failure in status");
                }
                Err(error)
            }
        },
    }
}

/// Everything resolved and rendered, ready to apply.
struct Plan {
    secrets: ResolvedSecrets,
    schemas: SchemaSelection,
    kratos_yml: String,
    dropped_keys: Vec<String>,
    config_hash: String,
    migration: MigrationPlan,
    desired_image: String,
}

async fn plan(
    instance: &KratosInstance,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<Plan, Blocked>, Error> {
    let secrets = match resolve_secrets(instance, ctx, namespace).await? {
        Ok(secrets) => secrets,
        Err(blocked) => return Ok(Err(blocked)),
    };
    let schema_selector = match selector_string(instance) {
        Ok(selector) => selector,
        Err(blocked) => return Ok(Err(blocked)),
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let current_config = config_maps
        .get_opt(&names::config_map(&instance.name_any()))
        .await?;
    let schema_api: Api<IdentitySchema> = Api::namespaced(ctx.client.clone(), namespace);
    let candidates = schema_api
        .list(&ListParams::default().labels(&schema_selector))
        .await?
        .items;
    let schemas = match select_schemas(instance, candidates, current_config.as_ref()) {
        Ok(schemas) => schemas,
        Err(blocked) => return Ok(Err(blocked)),
    };
    let rendered = match render_kratos_yml(
        instance,
        &schemas.served,
        &schemas.default_id,
        &schema_selector,
    ) {
        Ok(rendered) => rendered,
        Err(ConfigError::MissingRequiredKey(key)) => {
            return Ok(Err(Blocked::new(
                reasons::INVALID_CONFIG,
                format!("spec.config must set {key}"),
            )));
        }
        Err(ConfigError::Render(message)) => {
            return Err(Error::Render(RenderError::Serialize(message)));
        }
    };
    let config_hash = config_hash(&rendered.kratos_yml, &secrets.digests);

    let desired_image = desired_image(instance);
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
    let deployed_image = deployments
        .get_opt(&names::server(&instance.name_any()))
        .await?
        .and_then(|deployment| server_image(&deployment));
    let job_name = migration_job_name(&instance.name_any(), &desired_image);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    let job = if instance.spec.migration.enabled {
        jobs.get_opt(&job_name).await?
    } else {
        None
    };
    let migration = migration::plan(
        instance.spec.migration.enabled,
        &desired_image,
        deployed_image.as_deref(),
        &job_name,
        job.as_ref(),
    );
    Ok(Ok(Plan {
        secrets,
        schemas,
        kratos_yml: rendered.kratos_yml,
        dropped_keys: rendered.dropped_keys,
        config_hash,
        migration,
        desired_image,
    }))
}

/// Image of the server container of a rendered Deployment.
fn server_image(deployment: &Deployment) -> Option<String> {
    deployment
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|container| container.name == SERVER_CONTAINER)?
        .image
        .clone()
}

/// The Secrets the pods consume, checked and hashed.
struct ResolvedSecrets {
    digests: Vec<SecretDigest>,
    secrets_secret: String,
    keys: SecretsKeys,
    generated: bool,
}

async fn resolve_secrets(
    instance: &KratosInstance,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<ResolvedSecrets, Blocked>, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let mut digests = Vec::new();

    let dsn = &instance.spec.database.dsn_secret_ref;
    match read_key(&api, &dsn.name, &dsn.key, "spec.database.dsnSecretRef").await? {
        Ok(value) => digests.push(SecretDigest::new(&dsn.name, &dsn.key, &value)),
        Err(blocked) => return Ok(Err(blocked)),
    }

    if let Some(smtp) = &instance.spec.courier.smtp {
        let uri = &smtp.connection_uri_secret_ref;
        match read_key(
            &api,
            &uri.name,
            &uri.key,
            "spec.courier.smtp.connectionUriSecretRef",
        )
        .await?
        {
            Ok(value) => digests.push(SecretDigest::new(&uri.name, &uri.key, &value)),
            Err(blocked) => return Ok(Err(blocked)),
        }
    }

    let (secrets_secret, referenced) = match &instance.spec.secrets.secret_ref {
        Some(reference) => (reference.name.clone(), true),
        None => (names::generated_secrets(&instance.name_any()), false),
    };
    let mut generated = false;
    let secret = match api.get_opt(&secrets_secret).await? {
        Some(secret) => secret,
        None if referenced => {
            return Ok(Err(Blocked::new(
                reasons::SECRET_NOT_FOUND,
                format!("Secret {secrets_secret} (spec.secrets.secretRef) not found"),
            )));
        }
        None => {
            let secret = generated_secrets(instance, &mut rand::rng())?;
            generated = true;
            match api.create(&PostParams::default(), &secret).await {
                Ok(created) => created,
                // Another reconcile created it first: use theirs, never overwrite.
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    generated = false;
                    api.get(&secrets_secret).await?
                }
                Err(error) => return Err(error.into()),
            }
        }
    };
    let data = secret.data.clone().unwrap_or_default();
    let keys = match check_secrets_data(&data) {
        Ok(keys) => keys,
        Err(problem) => {
            let reason = match problem {
                SecretsProblem::KeyNotFound(_) => reasons::SECRET_KEY_NOT_FOUND,
                SecretsProblem::Invalid { .. } => reasons::SECRET_INVALID,
            };
            return Ok(Err(Blocked::new(
                reason,
                format!("Secret {secrets_secret}: {problem}"),
            )));
        }
    };
    for (key, value) in &data {
        if [
            render::secrets::DEFAULT_KEY,
            render::secrets::COOKIE_KEY,
            render::secrets::CIPHER_KEY,
        ]
        .contains(&key.as_str())
        {
            digests.push(SecretDigest::new(&secrets_secret, key, &value.0));
        }
    }
    Ok(Ok(ResolvedSecrets {
        digests,
        secrets_secret,
        keys,
        generated,
    }))
}

/// The value of `key` in Secret `name`, or why it is unusable.
async fn read_key(
    api: &Api<Secret>,
    name: &str,
    key: &str,
    field: &str,
) -> Result<Result<Vec<u8>, Blocked>, Error> {
    let Some(secret) = api.get_opt(name).await? else {
        return Ok(Err(Blocked::new(
            reasons::SECRET_NOT_FOUND,
            format!("Secret {name} ({field}) not found"),
        )));
    };
    let value = secret
        .data
        .and_then(|mut data| data.remove(key))
        .map(|value| value.0);
    Ok(match value {
        None => Err(Blocked::new(
            reasons::SECRET_KEY_NOT_FOUND,
            format!("Secret {name} has no key {key} ({field})"),
        )),
        Some(value) if value.is_empty() => Err(Blocked::new(
            reasons::SECRET_INVALID,
            format!("key {key} of Secret {name} is empty ({field})"),
        )),
        Some(value) => Ok(value),
    })
}

/// The instance's schema selector in string form.
fn selector_string(instance: &KratosInstance) -> Result<String, Blocked> {
    Selector::try_from(instance.spec.identity.schema_selector.clone())
        .map(|selector| selector.to_string())
        .map_err(|error| {
            Blocked::new(
                reasons::INVALID_CONFIG,
                format!("spec.identity.schemaSelector: {}", error.0),
            )
        })
}

/// The schemas an instance serves, and what was left out.
#[derive(Debug, PartialEq)]
pub struct SchemaSelection {
    pub served: Vec<ServedSchema>,
    pub default_id: String,
    /// Problems that do not stop the instance (reason, message).
    pub warnings: Vec<(&'static str, String)>,
}

/// Chooses the served schemas from the selected IdentitySchemas.
///
/// An invalid schema is not served; if the running configuration has a version of its id, that
/// last accepted version stays (identities and flows keep working). Of two schemas with one id,
/// the older is served.
pub fn select_schemas(
    instance: &KratosInstance,
    mut candidates: Vec<IdentitySchema>,
    current_config: Option<&ConfigMap>,
) -> Result<SchemaSelection, Blocked> {
    candidates.sort_by(|a, b| {
        (
            a.metadata.creation_timestamp.as_ref().map(|time| time.0),
            a.name_any(),
        )
            .cmp(&(
                b.metadata.creation_timestamp.as_ref().map(|time| time.0),
                b.name_any(),
            ))
    });
    let current_data = current_config.and_then(|config| config.data.as_ref());
    let mut served: Vec<ServedSchema> = Vec::new();
    let mut warnings = Vec::new();
    for schema in candidates {
        let id = schema.spec.id.clone();
        let source = schema.name_any();
        if let Some(winner) = served.iter().find(|served| served.id == id) {
            warnings.push((
                reasons::DUPLICATE_SCHEMA_ID,
                format!(
                    "IdentitySchemas {} and {source} both have id {id}; serving {}",
                    winner.source, winner.source
                ),
            ));
            continue;
        }
        // The version the schema reconciler accepted (valid, and compatible with the stored
        // identities under the Reject policy); spec.schema until it has decided.
        let content = schema
            .status
            .as_ref()
            .and_then(|status| status.accepted.as_ref())
            .map_or_else(
                || schema.spec.schema.clone(),
                |accepted| accepted.schema.clone(),
            );
        let spec_pending = schema
            .status
            .as_ref()
            .and_then(|status| status.accepted.as_ref())
            .is_some_and(|accepted| {
                accepted.content_hash != kratos_crds::content_hash(&schema.spec.schema)
            });
        if spec_pending {
            let why = if check_identity_schema(&schema.spec.schema).is_empty() {
                "its change is not accepted (yet, or held back: see its Accepted condition)"
            } else {
                "is invalid"
            };
            warnings.push((
                reasons::SCHEMA_REJECTED,
                format!("IdentitySchema {source} {why}; its last accepted version stays in force"),
            ));
        }
        let problems = check_identity_schema(&content);
        if problems.is_empty() {
            served.push(ServedSchema {
                content_hash: kratos_crds::content_hash(&content),
                content,
                id,
                source,
                selfservice_selectable: schema.spec.selfservice_selectable,
            });
            continue;
        }
        let last_good = current_data
            .and_then(|data| data.get(&schema_key(&id)))
            .and_then(|content| serde_json::from_str::<serde_json::Value>(content).ok())
            .filter(|content| check_identity_schema(content).is_empty());
        match last_good {
            Some(content) => {
                warnings.push((
                    reasons::SCHEMA_REJECTED,
                    format!("IdentitySchema {source} is invalid; its last accepted version stays in force"),
                ));
                served.push(ServedSchema {
                    content_hash: kratos_crds::content_hash(&content),
                    content,
                    id,
                    source,
                    selfservice_selectable: schema.spec.selfservice_selectable,
                });
            }
            None => warnings.push((
                reasons::SCHEMA_REJECTED,
                format!("IdentitySchema {source} is invalid and not served"),
            )),
        }
    }
    if served.is_empty() {
        let mut message = "spec.identity.schemaSelector selects no valid IdentitySchema".to_owned();
        for (_, warning) in &warnings {
            message.push_str("; ");
            message.push_str(warning);
        }
        return Err(Blocked::new(reasons::NO_IDENTITY_SCHEMAS, message));
    }
    let default_id = match (&instance.spec.identity.default_schema_id, served.as_slice()) {
        (Some(id), _) if served.iter().any(|schema| &schema.id == id) => id.clone(),
        (Some(id), _) => {
            let ids: Vec<&str> = served.iter().map(|schema| schema.id.as_str()).collect();
            return Err(Blocked::new(
                reasons::DEFAULT_SCHEMA_NOT_FOUND,
                format!(
                    "spec.identity.defaultSchemaId {id} is not among the served schemas ({})",
                    ids.join(", ")
                ),
            ));
        }
        (None, [only]) => only.id.clone(),
        (None, _) => {
            return Err(Blocked::new(
                reasons::DEFAULT_SCHEMA_NOT_FOUND,
                "several schemas are served: set spec.identity.defaultSchemaId",
            ));
        }
    };
    Ok(SchemaSelection {
        served,
        default_id,
        warnings,
    })
}

async fn apply(
    instance: &KratosInstance,
    ctx: &Context,
    namespace: &str,
    previous: &KratosInstanceStatus,
    plan: Plan,
) -> Result<Action, Error> {
    let name = instance.name_any();
    let reference = instance.object_ref(&());
    let schema_ids: Vec<String> = plan
        .schemas
        .served
        .iter()
        .map(|schema| schema.id.clone())
        .collect();

    // Render everything first: a user error in the pod template must not leave half an update.
    let workloads = match &plan.migration.run_image {
        Some(image) => {
            let inputs = PodInputs {
                image,
                config_hash: &plan.config_hash,
                schema_ids: &schema_ids,
                secrets_secret: &plan.secrets.secrets_secret,
                secrets_keys: plan.secrets.keys,
            };
            let server = match server_deployment(instance, &inputs) {
                Ok(server) => server,
                Err(RenderError::InvalidPodTemplate(message)) => {
                    let blocked = Blocked::new(
                        reasons::INVALID_CONFIG,
                        format!("spec.podTemplate: {message}"),
                    );
                    report_blocked(instance, ctx, previous, &blocked).await?;
                    return Ok(Action::requeue(BLOCKED_REQUEUE));
                }
                Err(error) => return Err(error.into()),
            };
            let courier = instance
                .spec
                .courier
                .dedicated_worker
                .then(|| courier_deployment(instance, &inputs))
                .transpose()?;
            Some((server, courier))
        }
        None => None,
    };

    let client = &ctx.client;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &rbac::service_account(instance)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &rbac::role(instance)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &rbac::role_binding(instance)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &config_map(instance, &plan.kratos_yml, &plan.schemas.served)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &services::public_service(instance)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &services::admin_service(instance)?,
    )
    .await?;
    apply_object(
        &Api::namespaced(client.clone(), namespace),
        &services::pod_disruption_budget(instance)?,
    )
    .await?;

    if plan.migration.create_job {
        let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
        let job = migration_job(instance, &plan.desired_image)?;
        match jobs.create(&PostParams::default(), &job).await {
            Ok(_) => {
                ctx.events
                    .normal(
                        &reference,
                        reasons::MIGRATING,
                        "Migrate",
                        format!(
                            "started migration Job {} for image {}",
                            job.metadata.name.as_deref().unwrap_or_default(),
                            plan.desired_image
                        ),
                    )
                    .await;
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error.into()),
        }
    }

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let mut server = None;
    if let Some((server_object, courier_object)) = workloads {
        server = Some(apply_object(&deployments, &server_object).await?);
        match courier_object {
            Some(courier) => {
                apply_object(&deployments, &courier).await?;
            }
            None => delete_if_present(&deployments, &names::courier(&name)).await?,
        }
    }

    let status = settled_status(instance, previous, &plan, server.as_ref())?;
    announce(instance, ctx, previous, &plan, &status).await;
    write_status(instance, ctx, &status).await?;

    let ready = conditions::find(&status.conditions, types::READY)
        .is_some_and(|ready| ready.status == "True");
    let degraded = conditions::find(&status.conditions, types::DEGRADED)
        .is_some_and(|degraded| degraded.status == "True");
    Ok(Action::requeue(if ready && !degraded {
        SETTLED_REQUEUE
    } else {
        PROGRESS_REQUEUE
    }))
}

/// Server-side apply under the operator's field manager; returns the object as stored.
async fn apply_object<K>(api: &Api<K>, object: &K) -> Result<K, Error>
where
    K: Resource + Clone + std::fmt::Debug + Serialize + DeserializeOwned,
{
    let name = object.meta().name.clone().unwrap_or_default();
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(object),
        )
        .await?)
}

async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Rollout progress of the server Deployment.
#[derive(Debug, PartialEq, Eq)]
pub struct Rollout {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub complete: bool,
}

/// Whether `deployment` runs `desired` up-to-date, ready replicas and nothing else.
pub fn rollout(deployment: &Deployment, desired: i32) -> Rollout {
    let status = deployment.status.clone().unwrap_or_default();
    let replicas = status.replicas.unwrap_or(0);
    let ready_replicas = status.ready_replicas.unwrap_or(0);
    let observed =
        status.observed_generation.unwrap_or(0) >= deployment.metadata.generation.unwrap_or(0);
    let complete = observed
        && status.updated_replicas.unwrap_or(0) >= desired
        && ready_replicas >= desired
        && replicas == desired;
    Rollout {
        replicas,
        ready_replicas,
        complete,
    }
}

fn settled_status(
    instance: &KratosInstance,
    previous: &KratosInstanceStatus,
    plan: &Plan,
    server: Option<&Deployment>,
) -> Result<KratosInstanceStatus, Error> {
    let desired_replicas = instance.spec.replicas;
    let rollout = server.map(|deployment| rollout(deployment, desired_replicas));
    let migration = &plan.migration.status;
    let (ready, progressing) = match (migration.state, &rollout) {
        (MigrationState::Failed, _) => {
            let message = format!(
                "migration Job {} for image {} failed: {}",
                migration.job_name.as_deref().unwrap_or_default(),
                migration.image,
                migration.message.as_deref().unwrap_or_default()
            );
            (
                Desired::new(
                    types::READY,
                    false,
                    reasons::MIGRATION_FAILED,
                    message.clone(),
                ),
                Desired::new(
                    types::PROGRESSING,
                    false,
                    reasons::MIGRATION_FAILED,
                    message,
                ),
            )
        }
        (MigrationState::Running | MigrationState::Pending, _) => {
            let message = format!(
                "migrating the database for image {} (Job {}); the pods roll when it succeeds",
                migration.image,
                migration.job_name.as_deref().unwrap_or_default()
            );
            (
                Desired::new(types::READY, false, reasons::MIGRATING, message.clone()),
                Desired::new(types::PROGRESSING, true, reasons::MIGRATING, message),
            )
        }
        (_, Some(rollout)) if rollout.complete => {
            let (reason, message) = if desired_replicas == 0 {
                (reasons::SCALED_TO_ZERO, "spec.replicas is 0".to_owned())
            } else {
                (
                    reasons::ALL_REPLICAS_READY,
                    format!(
                        "{} of {desired_replicas} replicas ready",
                        rollout.ready_replicas
                    ),
                )
            };
            (
                Desired::new(types::READY, true, reason, message),
                Desired::new(
                    types::PROGRESSING,
                    false,
                    reasons::ROLLOUT_COMPLETE,
                    "the Deployment is up to date",
                ),
            )
        }
        (_, rollout) => {
            let ready = rollout.as_ref().map_or(0, |rollout| rollout.ready_replicas);
            let message =
                format!("rolling out: {ready} of {desired_replicas} replicas ready and up to date");
            (
                Desired::new(types::READY, false, reasons::ROLLING_OUT, message.clone()),
                Desired::new(types::PROGRESSING, true, reasons::ROLLING_OUT, message),
            )
        }
    };
    let degraded = match (migration.state, plan.schemas.warnings.first()) {
        (MigrationState::Failed, _) => Desired::new(
            types::DEGRADED,
            true,
            reasons::MIGRATION_FAILED,
            ready.message.clone(),
        ),
        (_, Some((reason, _))) => {
            let messages: Vec<&str> = plan
                .schemas
                .warnings
                .iter()
                .map(|(_, message)| message.as_str())
                .collect();
            Desired::new(types::DEGRADED, true, reason, messages.join("; "))
        }
        _ => Desired::new(
            types::DEGRADED,
            false,
            reasons::AS_EXPECTED,
            "no problems found",
        ),
    };
    let generation = instance.metadata.generation;
    let conditions = conditions::build(
        &previous.conditions,
        &[ready, progressing, degraded],
        generation,
        Timestamp::now(),
    );
    let (replicas, ready_replicas) =
        rollout.map_or((0, 0), |rollout| (rollout.replicas, rollout.ready_replicas));
    let default_id = &plan.schemas.default_id;
    Ok(KratosInstanceStatus {
        observed_generation: generation,
        conditions,
        replicas,
        ready_replicas,
        selector: Some(render::server_selector_string(instance)),
        image: plan.migration.run_image.clone(),
        config_hash: Some(plan.config_hash.clone()),
        schemas: plan
            .schemas
            .served
            .iter()
            .map(|schema| kratos_crds::kratos_instance::ServedSchema {
                id: schema.id.clone(),
                source: schema.source.clone(),
                content_hash: schema.content_hash.clone(),
                default: &schema.id == default_id,
            })
            .collect(),
        secrets_secret_name: Some(plan.secrets.secrets_secret.clone()),
        migration: Some(migration.clone()),
        endpoints: Some(services::endpoints(instance)?),
    })
}

/// Events for what changed since the previous status.
async fn announce(
    instance: &KratosInstance,
    ctx: &Context,
    previous: &KratosInstanceStatus,
    plan: &Plan,
    status: &KratosInstanceStatus,
) {
    let reference = instance.object_ref(&());
    let events = &ctx.events;
    if plan.secrets.generated {
        events
            .normal(
                &reference,
                reasons::SECRETS_GENERATED,
                "GenerateSecrets",
                format!(
                    "created Secret {} with random signing and encryption secrets",
                    plan.secrets.secrets_secret
                ),
            )
            .await;
    }
    if !plan.dropped_keys.is_empty() && previous.observed_generation != instance.metadata.generation
    {
        events
            .warning(
                &reference,
                reasons::CONFIG_KEY_OVERRIDDEN,
                "RenderConfig",
                format!(
                    "spec.config keys ignored (credentials come from Secrets, the operator owns the rest): {}",
                    plan.dropped_keys.join(", ")
                ),
            )
            .await;
    }
    if previous.config_hash.is_some()
        && previous.config_hash != status.config_hash
        && plan.migration.run_image.is_some()
    {
        events
            .normal(
                &reference,
                reasons::CONFIG_CHANGED,
                "Rollout",
                "the configuration or a referenced Secret changed; rolling the pods".to_owned(),
            )
            .await;
    }
    let previous_migration = previous.migration.as_ref();
    let migration = &plan.migration.status;
    let migration_changed = |state: MigrationState| {
        migration.state == state
            && migration.job_name.is_some()
            && previous_migration.is_none_or(|old: &MigrationStatus| {
                old.state != state || old.image != migration.image
            })
    };
    if migration_changed(MigrationState::Succeeded) {
        events
            .normal(
                &reference,
                reasons::MIGRATION_SUCCEEDED,
                "Migrate",
                format!(
                    "database migrated for image {}; rolling the pods",
                    migration.image
                ),
            )
            .await;
    }
    if migration_changed(MigrationState::Failed) {
        events
            .warning(
                &reference,
                reasons::MIGRATION_FAILED,
                "Migrate",
                format!(
                    "migration Job {} failed: {}",
                    migration.job_name.as_deref().unwrap_or_default(),
                    migration.message.as_deref().unwrap_or_default()
                ),
            )
            .await;
    }
    let old_degraded = conditions::find(&previous.conditions, types::DEGRADED);
    if let Some(degraded) = conditions::find(&status.conditions, types::DEGRADED)
        && degraded.status == "True"
        && degraded.reason != reasons::MIGRATION_FAILED
        && old_degraded.is_none_or(|old| old.message != degraded.message)
    {
        events
            .warning(
                &reference,
                &degraded.reason,
                "SelectSchemas",
                degraded.message.clone(),
            )
            .await;
    }
    let was_ready = conditions::find(&previous.conditions, types::READY)
        .is_some_and(|ready| ready.status == "True");
    if let Some(ready) = conditions::find(&status.conditions, types::READY)
        && ready.status == "True"
        && !was_ready
    {
        events
            .normal(
                &reference,
                &ready.reason,
                "Reconcile",
                ready.message.clone(),
            )
            .await;
    }
}

/// Records a blocking problem: conditions and a warning event, the rest of the status unchanged.
async fn report_blocked(
    instance: &KratosInstance,
    ctx: &Context,
    previous: &KratosInstanceStatus,
    blocked: &Blocked,
) -> Result<(), Error> {
    let desired = [
        Desired::new(types::READY, false, blocked.reason, blocked.message.clone()),
        Desired::new(
            types::PROGRESSING,
            false,
            blocked.reason,
            blocked.message.clone(),
        ),
        Desired::new(
            types::DEGRADED,
            true,
            blocked.reason,
            blocked.message.clone(),
        ),
    ];
    let generation = instance.metadata.generation;
    let status = KratosInstanceStatus {
        observed_generation: generation,
        conditions: conditions::build(&previous.conditions, &desired, generation, Timestamp::now()),
        selector: Some(render::server_selector_string(instance)),
        ..previous.clone()
    };
    let unchanged = conditions::find(&previous.conditions, types::READY)
        .is_some_and(|ready| ready.reason == blocked.reason && ready.message == blocked.message);
    if !unchanged {
        tracing::info!(instance = %object_key(instance), reason = blocked.reason, message = %blocked.message, "instance blocked");
        ctx.events
            .warning(
                &instance.object_ref(&()),
                blocked.reason,
                "Reconcile",
                blocked.message.clone(),
            )
            .await;
    }
    write_status(instance, ctx, &status).await
}

async fn write_status(
    instance: &KratosInstance,
    ctx: &Context,
    status: &KratosInstanceStatus,
) -> Result<(), Error> {
    let api: Api<KratosInstance> =
        Api::namespaced(ctx.client.clone(), &render::namespace(instance)?);
    let patch = json!({
        "apiVersion": KratosInstance::api_version(&()),
        "kind": KratosInstance::kind(&()),
        "status": status,
    });
    api.patch_status(
        &instance.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn schema(name: &str, id: &str, created: i64, valid: bool) -> IdentitySchema {
        let email = if valid {
            json!({"type": "string"})
        } else {
            json!({"type": "strin"})
        };
        let mut schema = IdentitySchema::new(
            name,
            serde_json::from_value(json!({
                "id": id,
                "schema": {"properties": {"traits": {"type": "object", "properties": {"email": email}}}}
            }))
            .unwrap(),
        );
        schema.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created).unwrap()));
        schema
    }

    #[test]
    fn a_single_schema_is_the_default() {
        let selection = select_schemas(
            &instance(json!({})),
            vec![schema("a", "default", 1, true)],
            None,
        )
        .unwrap();
        assert_eq!(selection.default_id, "default");
        assert_eq!(selection.served.len(), 1);
        assert_eq!(selection.served[0].source, "a");
        assert!(selection.warnings.is_empty());
    }

    #[test]
    fn several_schemas_need_an_existing_default() {
        let schemas = vec![schema("a", "one", 1, true), schema("b", "two", 2, true)];
        let blocked = select_schemas(&instance(json!({})), schemas.clone(), None).unwrap_err();
        assert_eq!(blocked.reason, reasons::DEFAULT_SCHEMA_NOT_FOUND);
        let missing =
            instance(json!({"identity": {"schemaSelector": {}, "defaultSchemaId": "three"}}));
        assert_eq!(
            select_schemas(&missing, schemas.clone(), None)
                .unwrap_err()
                .reason,
            reasons::DEFAULT_SCHEMA_NOT_FOUND
        );
        let chosen =
            instance(json!({"identity": {"schemaSelector": {}, "defaultSchemaId": "two"}}));
        assert_eq!(
            select_schemas(&chosen, schemas, None).unwrap().default_id,
            "two"
        );
    }

    #[test]
    fn invalid_schemas_are_left_out_or_keep_their_last_good_version() {
        let instance =
            instance(json!({"identity": {"schemaSelector": {}, "defaultSchemaId": "good"}}));
        let schemas = vec![
            schema("good", "good", 1, true),
            schema("bad", "bad", 2, false),
        ];
        let selection = select_schemas(&instance, schemas.clone(), None).unwrap();
        assert_eq!(
            selection
                .served
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["good"]
        );
        assert_eq!(selection.warnings[0].0, reasons::SCHEMA_REJECTED);
        assert!(selection.warnings[0].1.contains("not served"));

        let last_good = schema("bad", "bad", 2, true).spec.schema;
        let current = ConfigMap {
            metadata: ObjectMeta::default(),
            data: Some(BTreeMap::from([(
                "bad.schema.json".to_owned(),
                last_good.to_string(),
            )])),
            ..ConfigMap::default()
        };
        let selection = select_schemas(&instance, schemas, Some(&current)).unwrap();
        assert_eq!(selection.served.len(), 2);
        assert_eq!(selection.served[1].content, last_good);
        assert!(selection.warnings[0].1.contains("last accepted version"));
    }

    #[test]
    fn the_older_of_two_schemas_with_one_id_wins() {
        let schemas = vec![
            schema("newer", "default", 5, true),
            schema("older", "default", 1, true),
        ];
        let selection = select_schemas(&instance(json!({})), schemas, None).unwrap();
        assert_eq!(selection.served.len(), 1);
        assert_eq!(selection.served[0].source, "older");
        assert_eq!(selection.warnings[0].0, reasons::DUPLICATE_SCHEMA_ID);
    }

    #[test]
    fn no_valid_schema_blocks_the_instance() {
        let blocked = select_schemas(
            &instance(json!({})),
            vec![schema("bad", "bad", 1, false)],
            None,
        )
        .unwrap_err();
        assert_eq!(blocked.reason, reasons::NO_IDENTITY_SCHEMAS);
        assert!(blocked.message.contains("bad is invalid"));
        assert_eq!(
            select_schemas(&instance(json!({})), vec![], None)
                .unwrap_err()
                .reason,
            reasons::NO_IDENTITY_SCHEMAS
        );
    }

    #[test]
    fn selectors_render_as_strings() {
        assert_eq!(selector_string(&instance(json!({}))).unwrap(), "app=shop");
        let everything = instance(json!({"identity": {"schemaSelector": {}}}));
        assert_eq!(selector_string(&everything).unwrap(), "");
        let expressions = instance(json!({"identity": {"schemaSelector": {
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]
        }}}));
        assert_eq!(selector_string(&expressions).unwrap(), "tier in (a,b)");
        let bad = instance(json!({"identity": {"schemaSelector": {
            "matchExpressions": [{"key": "tier", "operator": "Near"}]
        }}}));
        assert_eq!(
            selector_string(&bad).unwrap_err().reason,
            reasons::INVALID_CONFIG
        );
    }

    fn deployment(
        generation: i64,
        observed: i64,
        replicas: i32,
        updated: i32,
        ready: i32,
    ) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                generation: Some(generation),
                ..ObjectMeta::default()
            },
            status: Some(DeploymentStatus {
                observed_generation: Some(observed),
                replicas: Some(replicas),
                updated_replicas: Some(updated),
                ready_replicas: Some(ready),
                ..DeploymentStatus::default()
            }),
            ..Deployment::default()
        }
    }

    #[test]
    fn a_rollout_completes_when_all_desired_replicas_are_updated_and_ready() {
        assert!(rollout(&deployment(2, 2, 3, 3, 3), 3).complete);
        assert!(
            !rollout(&deployment(2, 1, 3, 3, 3), 3).complete,
            "status of an older generation"
        );
        assert!(
            !rollout(&deployment(2, 2, 4, 3, 3), 3).complete,
            "an old pod still runs"
        );
        assert!(
            !rollout(&deployment(2, 2, 3, 2, 3), 3).complete,
            "not all updated"
        );
        assert!(
            !rollout(&deployment(2, 2, 3, 3, 2), 3).complete,
            "not all ready"
        );
        assert!(
            !rollout(&Deployment::default(), 1).complete,
            "no status yet"
        );
        assert!(rollout(&deployment(1, 1, 0, 0, 0), 0).complete);
    }
}
