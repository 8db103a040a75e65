//! The IdentitySchema reconciler: validates the schema and reports who uses it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::jiff::Timestamp;
use kratos_crds::conditions::{reasons, types};
use kratos_crds::identity_schema::SchemaUser;
use kratos_crds::{
    AcceptedSchema, CompatibilityCheckResult, CompatibilityPolicy, IdentitySchema,
    IdentitySchemaStatus, IncompatibleIdentity, KratosInstance, SchemaServing,
    SchemaValidationError, check_identity_schema,
};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::conditions::{self, Desired};
use crate::context::Context;
use crate::error::Error;
use crate::render::{MANAGER, names};

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "identityschema";

/// Periodic re-check (and refresh of status.servedBy); changes to the schema, to instances and
/// to their Deployments trigger reconciles anyway.
const REQUEUE: Duration = Duration::from_secs(60);

/// Retry of a compatibility check or served-schema report whose server did not answer.
const RETRY_CHECK: Duration = Duration::from_secs(5);

/// Reconciles one IdentitySchema.
pub async fn reconcile(schema: Arc<IdentitySchema>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile(CONTROLLER);
    let result = reconcile_schema(&schema, &ctx).await;
    timer.done();
    if result.is_ok() {
        ctx.backoff.reset(&key(&schema));
    }
    result
}

/// Retries a failed reconcile with per-object exponential back-off.
pub fn error_policy(schema: Arc<IdentitySchema>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.metric_reason());
    let delay = ctx.backoff.next_delay(&key(&schema));
    tracing::warn!(schema = %key(&schema), %error, retry_in_seconds = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

fn key(schema: &IdentitySchema) -> String {
    format!(
        "identityschema:{}/{}",
        schema.namespace().unwrap_or_default(),
        schema.name_any()
    )
}

async fn reconcile_schema(schema: &IdentitySchema, ctx: &Context) -> Result<Action, Error> {
    let namespace = schema.namespace().unwrap_or_default();
    let instances: Api<KratosInstance> = Api::namespaced(ctx.client.clone(), &namespace);
    let instances = instances.list(&ListParams::default()).await?.items;
    let previous = schema.status.clone().unwrap_or_default();
    let now = Timestamp::now();
    let mut status = evaluate(schema, &instances, &previous, now);

    let was_valid =
        conditions::find(&previous.conditions, types::VALID).map(|valid| valid.status == "True");
    let is_valid = status.validation_errors.is_empty();
    let reference = schema.object_ref(&());
    if was_valid != Some(is_valid) || (!is_valid && previous.content_hash != status.content_hash) {
        match conditions::find(&status.conditions, types::VALID) {
            Some(valid) if is_valid => {
                ctx.events
                    .normal(
                        &reference,
                        reasons::SCHEMA_VALID,
                        "Validate",
                        valid.message.clone(),
                    )
                    .await;
            }
            Some(valid) => {
                ctx.events
                    .warning(
                        &reference,
                        reasons::SCHEMA_INVALID,
                        "Validate",
                        valid.message.clone(),
                    )
                    .await;
            }
            None => {}
        }
    }

    let users: Vec<&KratosInstance> = instances
        .iter()
        .filter(|instance| {
            status
                .used_by
                .iter()
                .any(|user| user.instance == instance.name_any())
        })
        .collect();
    let decision = decide(schema, &users, &previous, is_valid, ctx).await;
    if let Some((warning, reason, note)) = &decision.event {
        if *warning {
            ctx.events
                .warning(&reference, reason, "CheckCompatibility", note.clone())
                .await;
        } else {
            ctx.events
                .normal(&reference, reason, "CheckCompatibility", note.clone())
                .await;
        }
    }
    status.accepted = decision.accepted;
    status.compatibility_check = decision.check;
    status.conditions.extend(conditions::build(
        &previous.conditions,
        &[decision.condition],
        schema.metadata.generation,
        now,
    ));
    status.served_by = served_by(&users, &schema.spec.id, &namespace, ctx).await;

    let accepted_hash = status.accepted.as_ref().map(|a| a.content_hash.clone());
    let converged = status
        .served_by
        .iter()
        .all(|serving| serving.content_hash.is_some() && serving.content_hash == accepted_hash);
    let reachable = status
        .served_by
        .iter()
        .all(|serving| serving.content_hash.is_some());
    let requeue = if decision.retry_soon {
        RETRY_CHECK
    } else if converged {
        REQUEUE
    } else if reachable {
        // Servers pick up an accepted change within about a second; report it soon.
        Duration::from_secs(1)
    } else {
        RETRY_CHECK
    };

    let api: Api<IdentitySchema> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = json!({
        "apiVersion": IdentitySchema::api_version(&()),
        "kind": IdentitySchema::kind(&()),
        "status": status,
    });
    api.patch_status(
        &schema.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(Action::requeue(requeue))
}

/// What to serve, and why.
struct Decision {
    accepted: Option<AcceptedSchema>,
    check: Option<CompatibilityCheckResult>,
    condition: Desired,
    /// (warning?, reason, note) of an event to publish.
    event: Option<(bool, &'static str, String)>,
    /// The check could not run; try again soon.
    retry_soon: bool,
}

/// Decides whether spec.schema becomes the accepted (served) version: it must be valid, and
/// under the `Reject` policy no identity stored under its id by a using instance may fail it.
///
/// The first version of a schema is accepted without a check when no server answers (there is
/// nothing served to protect yet); a later change waits until a server can run the check.
async fn decide(
    schema: &IdentitySchema,
    users: &[&KratosInstance],
    previous: &IdentitySchemaStatus,
    valid: bool,
    ctx: &Context,
) -> Decision {
    let spec_hash = kratos_crds::content_hash(&schema.spec.schema);
    let accepted = previous.accepted.clone();
    let accept = |check: Option<CompatibilityCheckResult>,
                  reason: &'static str,
                  message: String,
                  event: Option<(bool, &'static str, String)>| Decision {
        accepted: Some(AcceptedSchema {
            content_hash: spec_hash.clone(),
            generation: schema.metadata.generation,
            schema: schema.spec.schema.clone(),
        }),
        check,
        condition: Desired::new(types::ACCEPTED, true, reason, message),
        event,
        retry_soon: false,
    };
    if !valid {
        let message = match &accepted {
            Some(accepted) => format!(
                "spec.schema is invalid; the accepted version {} stays in force",
                accepted.content_hash
            ),
            None => "spec.schema is invalid and no version was accepted yet".to_owned(),
        };
        return Decision {
            accepted,
            check: previous.compatibility_check.clone(),
            condition: Desired::new(types::ACCEPTED, false, reasons::SCHEMA_INVALID, message),
            event: None,
            retry_soon: false,
        };
    }
    if let Some(current) = &accepted
        && current.content_hash == spec_hash
    {
        let allowed = previous
            .compatibility_check
            .as_ref()
            .is_some_and(|check| check.content_hash == spec_hash && check.failed > 0);
        let (reason, message) = if allowed {
            (
                reasons::INCOMPATIBLE_CHANGE_ALLOWED,
                "spec.schema is served although stored identities fail it (policy Allow)",
            )
        } else {
            (reasons::SCHEMA_COMPATIBLE, "spec.schema is served")
        };
        return Decision {
            accepted: accepted.clone(),
            check: previous.compatibility_check.clone(),
            condition: Desired::new(types::ACCEPTED, true, reason, message),
            event: None,
            retry_soon: false,
        };
    }

    // A new version: check it against the identities of every using instance.
    let mut result: Option<CompatibilityCheckResult> = None;
    let mut unreachable = Vec::new();
    for instance in users {
        match ctx
            .servers
            .check(instance, &schema.spec.id, &schema.spec.schema)
            .await
        {
            Ok(report) => {
                let entry = result.get_or_insert_with(|| CompatibilityCheckResult {
                    content_hash: spec_hash.clone(),
                    instance: instance.name_any(),
                    checked: 0,
                    failed: 0,
                    samples: Vec::new(),
                });
                entry.checked += report.checked;
                entry.failed += report.failed;
                if report.failed > 0 && entry.samples.is_empty() {
                    entry.instance = instance.name_any();
                }
                for sample in report.samples {
                    entry.samples.push(IncompatibleIdentity {
                        identity_id: sample.identity_id,
                        errors: sample
                            .errors
                            .into_iter()
                            .map(|e| SchemaValidationError {
                                pointer: e.pointer,
                                message: e.message,
                            })
                            .collect(),
                    });
                }
            }
            Err(error) => unreachable.push(error.to_string()),
        }
    }
    if !unreachable.is_empty() {
        if schema.spec.compatibility.policy == CompatibilityPolicy::Allow {
            return accept(
                result,
                reasons::COMPATIBILITY_UNKNOWN,
                format!(
                    "spec.schema is served (policy Allow); the compatibility check could not run ({})",
                    unreachable.join("; ")
                ),
                None,
            );
        }
        if accepted.is_none() {
            return accept(
                result,
                reasons::SCHEMA_COMPATIBLE,
                "the first version is served; no server could check it yet".to_owned(),
                None,
            );
        }
        return Decision {
            accepted,
            check: previous.compatibility_check.clone(),
            condition: Desired::new(
                types::ACCEPTED,
                false,
                reasons::COMPATIBILITY_UNKNOWN,
                format!(
                    "spec.schema changed but the compatibility check could not run ({}); the accepted version stays in force until it can",
                    unreachable.join("; ")
                ),
            ),
            event: None,
            retry_soon: true,
        };
    }
    let failing = result.as_ref().is_some_and(|check| check.failed > 0);
    let Some(check) = result.clone().filter(|_| failing) else {
        let checked = result.as_ref().map_or(0, |check| check.checked);
        return accept(
            result,
            reasons::SCHEMA_COMPATIBLE,
            format!(
                "spec.schema is served; the {checked} stored identities with this schema id satisfy it"
            ),
            Some((
                false,
                reasons::SCHEMA_COMPATIBLE,
                format!(
                    "accepted {spec_hash}: the {checked} stored identities with schema id {} satisfy it",
                    schema.spec.id
                ),
            )),
        );
    };
    let first = check
        .samples
        .first()
        .and_then(|sample| {
            sample.errors.first().map(|e| {
                format!(
                    " (e.g. identity {}: {}: {})",
                    sample.identity_id, e.pointer, e.message
                )
            })
        })
        .unwrap_or_default();
    let summary = format!(
        "{} of {} stored identities with schema id {} fail spec.schema{first}",
        check.failed, check.checked, schema.spec.id
    );
    let new_result = previous
        .compatibility_check
        .as_ref()
        .is_none_or(|old| old.content_hash != spec_hash);
    match schema.spec.compatibility.policy {
        CompatibilityPolicy::Allow => accept(
            Some(check),
            reasons::INCOMPATIBLE_CHANGE_ALLOWED,
            format!("{summary}; served anyway (policy Allow)"),
            new_result.then(|| {
                (
                    true,
                    reasons::INCOMPATIBLE_CHANGE_ALLOWED,
                    format!("{summary}; served anyway (policy Allow)"),
                )
            }),
        ),
        CompatibilityPolicy::Reject => {
            let message = format!(
                "{summary}; the change is held back and the accepted version {} stays in force. Fix those identities, or set spec.compatibility.policy to Allow",
                accepted
                    .as_ref()
                    .map_or("(none)", |accepted| accepted.content_hash.as_str())
            );
            Decision {
                accepted,
                check: Some(check),
                condition: Desired::new(
                    types::ACCEPTED,
                    false,
                    reasons::INCOMPATIBLE_CHANGE,
                    message.clone(),
                ),
                event: new_result.then_some((true, reasons::INCOMPATIBLE_CHANGE, message)),
                retry_soon: false,
            }
        }
    }
}

/// What each using instance's servers serve for `schema_id`, with their ready replicas.
async fn served_by(
    users: &[&KratosInstance],
    schema_id: &str,
    namespace: &str,
    ctx: &Context,
) -> Vec<SchemaServing> {
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
    let mut serving = Vec::with_capacity(users.len());
    for instance in users {
        let name = instance.name_any();
        let ready_replicas = match deployments.get_opt(&names::server(&name)).await {
            Ok(Some(deployment)) => deployment
                .status
                .and_then(|status| status.ready_replicas)
                .unwrap_or(0),
            _ => 0,
        };
        let content_hash = if ready_replicas > 0 {
            ctx.servers
                .served_hash(instance, schema_id)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        serving.push(SchemaServing {
            instance: name,
            content_hash,
            ready_replicas,
        });
    }
    serving
}

/// The status of `schema` given the instances of its namespace.
pub fn evaluate(
    schema: &IdentitySchema,
    instances: &[KratosInstance],
    previous: &IdentitySchemaStatus,
    now: Timestamp,
) -> IdentitySchemaStatus {
    let problems = check_identity_schema(&schema.spec.schema);
    let (status, reason, message) = match problems.as_slice() {
        [] => (
            true,
            reasons::SCHEMA_VALID,
            "the schema compiles and its ory.sh/kratos extension is well-formed".to_owned(),
        ),
        [first, rest @ ..] => {
            let location = if first.pointer.is_empty() {
                "(root)"
            } else {
                first.pointer.as_str()
            };
            let mut message = format!("{location}: {}", first.message);
            if !rest.is_empty() {
                message.push_str(&format!(
                    " (and {} more in status.validationErrors)",
                    rest.len()
                ));
            }
            (false, reasons::SCHEMA_INVALID, message)
        }
    };
    let desired = [
        Desired::new(types::VALID, status, reason, message.clone()),
        Desired::new(types::READY, status, reason, message),
    ];
    let generation = schema.metadata.generation;
    IdentitySchemaStatus {
        observed_generation: generation,
        conditions: conditions::build(&previous.conditions, &desired, generation, now),
        content_hash: Some(kratos_crds::content_hash(&schema.spec.schema)),
        validation_errors: problems,
        used_by: users(schema, instances),
        accepted: previous.accepted.clone(),
        compatibility_check: previous.compatibility_check.clone(),
        served_by: previous.served_by.clone(),
    }
}

/// Instances whose schema selector selects `schema`, sorted by name.
fn users(schema: &IdentitySchema, instances: &[KratosInstance]) -> Vec<SchemaUser> {
    let labels = schema.labels();
    let mut users: Vec<SchemaUser> = instances
        .iter()
        .filter(|instance| {
            Selector::try_from(instance.spec.identity.schema_selector.clone())
                .is_ok_and(|selector| selector.matches(labels))
        })
        .map(|instance| SchemaUser {
            instance: instance.name_any(),
            default: instance.spec.identity.default_schema_id.as_deref()
                == Some(schema.spec.id.as_str()),
        })
        .collect();
    users.sort_by(|a, b| a.instance.cmp(&b.instance));
    users
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use std::collections::BTreeMap;

    fn schema(valid: bool) -> IdentitySchema {
        let email = if valid {
            json!({"type": "string"})
        } else {
            json!({"type": 7})
        };
        let mut schema = IdentitySchema::new(
            "customer",
            serde_json::from_value(json!({
                "id": "customer",
                "schema": {"properties": {"traits": {"type": "object", "properties": {"email": email}}}}
            }))
            .unwrap(),
        );
        schema.metadata.namespace = Some("identity".into());
        schema.metadata.generation = Some(4);
        schema.metadata.labels = Some(BTreeMap::from([("app".to_owned(), "shop".to_owned())]));
        schema
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_000).unwrap()
    }

    #[test]
    fn a_valid_schema_is_valid_and_ready() {
        let status = evaluate(&schema(true), &[], &IdentitySchemaStatus::default(), now());
        assert_eq!(status.observed_generation, Some(4));
        assert!(status.validation_errors.is_empty());
        for type_ in [types::VALID, types::READY] {
            let condition = conditions::find(&status.conditions, type_).unwrap();
            assert_eq!(
                (condition.status.as_str(), condition.reason.as_str()),
                ("True", "SchemaValid")
            );
        }
        assert_eq!(
            status.content_hash,
            Some(kratos_crds::content_hash(&schema(true).spec.schema))
        );
    }

    #[test]
    fn an_invalid_schema_reports_pointers() {
        let status = evaluate(&schema(false), &[], &IdentitySchemaStatus::default(), now());
        assert_eq!(
            status.validation_errors[0].pointer,
            "/properties/traits/properties/email/type"
        );
        let valid = conditions::find(&status.conditions, types::VALID).unwrap();
        assert_eq!(
            (valid.status.as_str(), valid.reason.as_str()),
            ("False", "SchemaInvalid")
        );
        assert!(
            valid
                .message
                .starts_with("/properties/traits/properties/email/type: "),
            "{}",
            valid.message
        );
    }

    #[test]
    fn users_are_the_selecting_instances() {
        let mut selecting = instance(
            json!({"identity": {"schemaSelector": {"matchLabels": {"app": "shop"}}, "defaultSchemaId": "customer"}}),
        );
        selecting.metadata.name = Some("b-shop".into());
        let mut everything = instance(json!({"identity": {"schemaSelector": {}}}));
        everything.metadata.name = Some("a-all".into());
        let other =
            instance(json!({"identity": {"schemaSelector": {"matchLabels": {"app": "blog"}}}}));
        let status = evaluate(
            &schema(true),
            &[selecting, other, everything],
            &IdentitySchemaStatus::default(),
            now(),
        );
        assert_eq!(
            status.used_by,
            [
                SchemaUser {
                    instance: "a-all".into(),
                    default: false
                },
                SchemaUser {
                    instance: "b-shop".into(),
                    default: true
                },
            ]
        );
    }
}
