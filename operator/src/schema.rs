//! The IdentitySchema reconciler: validates the schema and reports who uses it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kratos_crds::conditions::{reasons, types};
use kratos_crds::identity_schema::SchemaUser;
use kratos_crds::{IdentitySchema, IdentitySchemaStatus, KratosInstance, check_identity_schema};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::conditions::{self, Desired};
use crate::context::Context;
use crate::error::Error;
use crate::render::MANAGER;

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "identityschema";

/// Periodic re-check; changes to the schema or to instances trigger reconciles anyway.
const REQUEUE: Duration = Duration::from_secs(600);

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
    let status = evaluate(schema, &instances, &previous, Timestamp::now());

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
    Ok(Action::requeue(REQUEUE))
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
