//! Password registration: traits plus a password that passes the policy.

use serde_json::Value;

use super::policy;
use crate::error::{FormErrors, Result};
use crate::identity::{CredentialsType, Identity};
use crate::selfservice::flow::Flow;
use crate::selfservice::registration::profile_first;
use crate::selfservice::strategy::{Ctx, RegistrationOutcome};
use crate::text;
use crate::ui::{Group, InputType, Node};

fn password_node() -> Node {
    Node::input("password", Group::Password, InputType::Password)
        .required()
        .with_autocomplete("new-password")
        .with_label(text::info_node_input_password())
}

fn submit_node() -> Node {
    Node::input("method", Group::Password, InputType::Submit)
        .with_value("password")
        .with_label(text::info_registration())
}

pub async fn form(ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
    if !profile_first(ctx.app) {
        credentials_form(flow);
    }
    Ok(())
}

pub fn credentials_form(flow: &mut Flow) {
    flow.ui.upsert(password_node());
    flow.ui.append_if_missing(submit_node());
}

/// The submitted traits, typed with the schema when they came from a form post.
pub fn traits_from(ctx: &Ctx<'_>, schema: &Value) -> Value {
    let mut traits = ctx
        .body
        .get("traits")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    if ctx.req.content_type() == "application/x-www-form-urlencoded" {
        crate::ui::schema::coerce_traits(schema, &mut traits);
    }
    traits
}

pub async fn register(
    ctx: &Ctx<'_>,
    flow: &mut Flow,
    schema: &Value,
) -> Result<RegistrationOutcome> {
    if ctx.method() != Some("password") {
        return Ok(RegistrationOutcome::NotResponsible);
    }
    let password = ctx.field("password").unwrap_or("");
    if password.is_empty() {
        return Err(
            FormErrors::field("password", text::validation_error_required("password")).into(),
        );
    }
    if let Some(tp) = ctx.body.get("transient_payload") {
        flow.data.transient_payload = Some(tp.clone());
    }
    let schema_id = flow.data.identity_schema.clone().unwrap_or_default();
    let mut identity = Identity::new(schema_id, traits_from(ctx, schema));
    identity.set_credentials(
        CredentialsType::Password,
        vec![],
        Value::Object(Default::default()),
    );
    ctx.app.identities().validate(&mut identity)?;
    let identifiers = identity
        .credentials_of(CredentialsType::Password)
        .map(|c| c.identifiers.clone())
        .unwrap_or_default();
    if identifiers.is_empty() {
        return Err(FormErrors::global(text::error_validation_identifier_missing()).into());
    }
    for identifier in &identifiers {
        if let Some(violation) = policy::check(ctx.app, identifier, password).await? {
            return Err(FormErrors::field("password", violation).into());
        }
    }
    let hash = ctx.app.hasher.hash(password).await?;
    identity.set_credentials(
        CredentialsType::Password,
        identifiers,
        serde_json::json!({ "hashed_password": hash }),
    );
    Ok(RegistrationOutcome::Register(Box::new(identity)))
}
