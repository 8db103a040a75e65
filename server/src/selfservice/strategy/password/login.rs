//! Password login. A wrong identifier and a wrong password answer the same message (4000006)
//! and take the same time: an unknown identifier still costs one password verification.

use serde_json::Value;

use crate::error::{FormErrors, Result};
use crate::identity::CredentialsType;
use crate::persistence::identities::{self, Expand};
use crate::selfservice::flow::Flow;
use crate::selfservice::strategy::{Ctx, LoginOutcome};
use crate::session::{Aal, AuthenticationMethod};
use crate::text;
use crate::ui::{Group, InputType, Node};

/// Kratos's normalisation of password identifiers: trimmed and lower-cased.
pub fn normalize_identifier(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

pub async fn form(ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
    let refresh_identifier = match (flow.data.refresh, ctx.session) {
        (true, Some(session)) => session
            .identity
            .as_ref()
            .and_then(|i| i.credentials_of(CredentialsType::Password))
            .and_then(|c| c.identifiers.first().cloned()),
        _ => None,
    };
    if flow.data.refresh && ctx.session.is_some() && refresh_identifier.is_none() {
        // The identity has no password: nothing to re-authenticate with here.
        return Ok(());
    }
    // As in Kratos: no `autocomplete` on the identifier (its enum has no plain "username"), and a
    // refresh carries the session's identifier as a hidden field without a label.
    let identifier = match refresh_identifier {
        Some(id) => Node::input("identifier", Group::Default, InputType::Hidden).with_value(id),
        None => Node::input("identifier", Group::Default, InputType::Text)
            .required()
            .with_label(text::info_node_label_id()),
    };
    flow.ui.upsert(identifier);
    flow.ui.upsert(
        Node::input("password", Group::Password, InputType::Password)
            .required()
            .with_autocomplete("current-password")
            .with_label(text::info_node_input_password()),
    );
    flow.ui.upsert(
        Node::input("method", Group::Password, InputType::Submit)
            .with_value("password")
            .with_label(text::info_login()),
    );
    Ok(())
}

fn invalid_credentials() -> crate::error::Error {
    FormErrors::global(text::error_validation_invalid_credentials()).into()
}

pub async fn login(ctx: &Ctx<'_>, flow: &mut Flow) -> Result<LoginOutcome> {
    let app = ctx.app;
    // `password_identifier` is the legacy field name, still accepted by Kratos.
    let identifier = ctx
        .field("identifier")
        .or_else(|| ctx.field("password_identifier"))
        .unwrap_or("");
    let password = ctx.field("password").unwrap_or("");
    let mut missing = FormErrors::default();
    if identifier.is_empty() {
        missing.push(
            Some("identifier"),
            text::validation_error_required("identifier"),
        );
    }
    if password.is_empty() {
        missing.push(
            Some("password"),
            text::validation_error_required("password"),
        );
    }
    if !missing.is_empty() {
        flow.ui.update_values_from_json(
            &Value::Object(
                [("identifier".to_string(), Value::String(identifier.into()))]
                    .into_iter()
                    .collect(),
            ),
            "",
            Group::Default,
        );
        return Err(missing.into());
    }
    // The form shows what the user typed (as Kratos does); the lookup uses the normalised form.
    if let Some(node) = flow.ui.node_mut("identifier")
        && let Some(a) = node.input_attributes_mut()
    {
        a.value = Some(Value::String(identifier.to_string()));
    }
    let identifier = normalize_identifier(identifier);

    let mut c = app.db.conn().await?;
    let identity = identities::find_by_identifier(
        c.conn(),
        CredentialsType::Password,
        &identifier,
        Expand::EVERYTHING,
    )
    .await?;
    drop(c);
    let stored_hash = identity
        .as_ref()
        .and_then(|i| i.credentials_of(CredentialsType::Password))
        .and_then(|cred| cred.config.as_ref())
        .and_then(|cfg| cfg.get("hashed_password"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (Some(mut identity), Some(hash)) = (identity, stored_hash) else {
        app.hasher.verify_dummy(password).await?;
        return Err(invalid_credentials());
    };
    if !app.hasher.verify(password, &hash).await? {
        return Err(invalid_credentials());
    }
    if flow.data.refresh
        && let Some(session) = ctx.session
        && session.identity_id != identity.id
    {
        return Err(crate::error::ApiError::forbidden()
                    .with_id("security_identity_mismatch")
                    .with_reason("The request was initiated by someone else and has been blocked for security reasons. Please go back and try again.")
                    .into());
    }
    if app.hasher.needs_rehash(&hash) {
        // Imported and outdated hashes are replaced with the configured hasher's, now that the
        // plaintext is known to be right.
        let new_hash = app.hasher.hash(password).await?;
        if let Some(cred) = identity.credentials.get_mut(&CredentialsType::Password) {
            let mut config = cred
                .config
                .clone()
                .unwrap_or(Value::Object(Default::default()));
            config["hashed_password"] = Value::String(new_hash);
            if let Some(obj) = config.as_object_mut() {
                obj.remove("use_password_migration_hook");
            }
            cred.config = Some(config);
            cred.updated_at = crate::persistence::now();
        }
        let mut tx = app.db.begin().await?;
        identities::update(tx.conn(), &identity).await?;
        tx.commit().await?;
        app.session_cache.invalidate_identity(identity.id);
    }
    let method = AuthenticationMethod {
        method: CredentialsType::Password,
        aal: Aal::Aal1,
        completed_at: crate::persistence::now(),
        provider: String::new(),
        organization: String::new(),
    };
    Ok(LoginOutcome::Authenticated {
        identity: Box::new(identity),
        method,
    })
}
