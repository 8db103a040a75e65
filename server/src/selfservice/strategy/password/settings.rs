//! Changing the password in settings (requires a privileged session).

use crate::error::{FormErrors, Result};
use crate::identity::{CredentialsType, Identity};
use crate::selfservice::flow::Flow;
use crate::selfservice::settings::{is_privileged, needs_reauth};
use crate::selfservice::strategy::{Ctx, SettingsOutcome};
use crate::text;
use crate::ui::{Group, InputType, Node};

use super::policy;

pub fn form(flow: &mut Flow) {
    flow.ui.upsert(
        Node::input("password", Group::Password, InputType::Password)
            .required()
            .with_autocomplete("new-password")
            .with_label(text::info_node_input_password()),
    );
    flow.ui.upsert(
        Node::input("method", Group::Password, InputType::Submit)
            .with_value("password")
            .with_label(text::info_node_label_save()),
    );
}

pub async fn settings(ctx: &Ctx<'_>, identity: &Identity) -> Result<SettingsOutcome> {
    if ctx.method() != Some("password") {
        return Ok(SettingsOutcome::NotResponsible);
    }
    let Some(session) = ctx.session else {
        return Ok(SettingsOutcome::NotResponsible);
    };
    if !is_privileged(ctx.app, session) {
        return Err(needs_reauth(ctx.app, ctx.req).into());
    }
    let password = ctx.field("password").unwrap_or("");
    if password.is_empty() {
        return Err(
            FormErrors::field("password", text::validation_error_required("password")).into(),
        );
    }
    let mut updated = identity.clone();
    // Identifiers are recomputed from the traits by validation; start from the current ones.
    updated.set_credentials(CredentialsType::Password, vec![], serde_json::json!({}));
    ctx.app.identities().validate(&mut updated)?;
    let identifiers = updated
        .credentials_of(CredentialsType::Password)
        .map(|c| c.identifiers.clone())
        .unwrap_or_default();
    for identifier in &identifiers {
        if let Some(violation) = policy::check(ctx.app, identifier, password).await? {
            return Err(FormErrors::field("password", violation).into());
        }
    }
    let hash = ctx.app.hasher.hash(password).await?;
    updated.set_credentials(
        CredentialsType::Password,
        identifiers,
        serde_json::json!({ "hashed_password": hash }),
    );
    Ok(SettingsOutcome::Update(Box::new(updated)))
}
