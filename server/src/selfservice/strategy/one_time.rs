//! What the one-time-secret methods (`code` and `link`) share: the submitted address, storing
//! and consuming secrets, the recipients of their messages, and finishing a recovery.

use serde_json::Value;

use super::{Ctx, OneTimeOutcome};
use crate::app::App;
use crate::courier::{Channel, Outgoing, TemplateType};
use crate::error::{Error, FormErrors, Result};
use crate::identity::{CredentialsType, Identity};
use crate::persistence::identities::{self, AddressTable, Expand};
use crate::persistence::one_time::{self, NewSecret, OneTimeSecret, Purpose};
use crate::selfservice::flow::Flow;
use crate::selfservice::recovery;

/// The submitted email, trimmed and lowercased as addresses are stored.
pub fn submitted_email(ctx: &Ctx<'_>) -> Option<String> {
    ctx.field("email")
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

pub fn required_email() -> Error {
    FormErrors::field("email", crate::text::validation_error_required("email")).into()
}

/// Stores a secret (as an HMAC with the current key).
pub async fn store(app: &App, secret: &NewSecret<'_>) -> Result<()> {
    let mut c = app.db.conn().await?;
    one_time::insert(c.conn(), &app.config().secrets.default, secret).await?;
    Ok(())
}

/// Uses up the flow's unused secret of `purpose` equal to `secret`, if there is one.
pub async fn consume(
    app: &App,
    flow: &Flow,
    purpose: Purpose,
    secret: &str,
) -> Result<Option<OneTimeSecret>> {
    let mut c = app.db.conn().await?;
    one_time::consume(
        c.conn(),
        &app.config().secrets.default,
        flow.id,
        purpose,
        secret,
    )
    .await
}

/// Drops the flow's unused secrets of `purpose`, before a new one is sent.
pub async fn forget(app: &App, flow: &Flow, purpose: Purpose) -> Result<()> {
    let mut c = app.db.conn().await?;
    one_time::delete_of_flow(c.conn(), flow.id, purpose).await
}

/// Queues one email.
pub async fn queue(app: &App, template: TemplateType, to: &str, model: Value) -> Result<()> {
    crate::courier::queue(
        app,
        Outgoing {
            template,
            channel: Channel::Email,
            recipient: to.to_string(),
            model,
        },
    )
    .await?;
    Ok(())
}

/// The identity owning `email` in the recovery or the verifiable addresses, loaded with `expand`.
async fn email_owner(
    app: &App,
    addresses: AddressTable,
    email: &str,
    expand: Expand,
) -> Result<Option<Identity>> {
    let mut c = app.db.conn().await?;
    let Some(id) = identities::find_address_owner(c.conn(), addresses, "email", email).await?
    else {
        return Ok(None);
    };
    identities::find(c.conn(), id, expand).await
}

/// The active identity that may recover with `email`. For an unknown address, `unknown` is sent
/// instead when `notify_unknown_recipients` asks for it.
pub async fn recovery_recipient(
    app: &App,
    flow: &Flow,
    email: &str,
    unknown: TemplateType,
    minutes: u64,
) -> Result<Option<Identity>> {
    let owner = email_owner(app, AddressTable::Recovery, email, Expand::EVERYTHING)
        .await?
        .filter(Identity::is_active);
    if owner.is_none()
        && app
            .config()
            .selfservice
            .flows
            .recovery
            .notify_unknown_recipients
    {
        let model = recovery::message_model(flow, email, None, minutes);
        queue(app, unknown, email, model).await?;
    }
    Ok(owner)
}

/// The identity that may verify `email`. For an unknown address, `unknown` is sent instead when
/// `notify_unknown_recipients` asks for it.
pub async fn verification_recipient(
    app: &App,
    flow: &Flow,
    email: &str,
    unknown: TemplateType,
    minutes: u64,
) -> Result<Option<Identity>> {
    let owner = email_owner(app, AddressTable::Verifiable, email, Expand::ADDRESSES).await?;
    if owner.is_none()
        && app
            .config()
            .selfservice
            .flows
            .verification
            .notify_unknown_recipients
    {
        let model = recovery::message_model(flow, email, None, minutes);
        queue(app, unknown, email, model).await?;
    }
    Ok(owner)
}

/// A recovery secret was accepted: its identity recovers with `method`. The address it was sent
/// to is verified too, as receiving it proves ownership (admin-issued secrets went to no address).
pub async fn complete_recovery(
    ctx: &Ctx<'_>,
    flow: &mut Flow,
    secret: &OneTimeSecret,
    method: CredentialsType,
) -> Result<OneTimeOutcome> {
    let app = ctx.app;
    let Some(identity_id) = secret.identity_id else {
        return Err(Error::internal("recovery secret without identity"));
    };
    let identity = app
        .identities()
        .get(identity_id, Expand::EVERYTHING)
        .await?;
    if !secret.issued_by_admin
        && let (Some(via), Some(value)) = (&secret.address_via, &secret.address_value)
    {
        let mut c = app.db.conn().await?;
        one_time::mark_address_verified(c.conn(), identity.id, via, value).await?;
    }
    let res = recovery::complete(app, ctx.req, flow, identity, method).await?;
    Ok(OneTimeOutcome::Respond(res))
}

/// Records that a verification message went to the identity's address `email`.
pub async fn mark_sent(app: &App, identity: &Identity, email: &str) -> Result<()> {
    let mut c = app.db.conn().await?;
    one_time::mark_address_sent(c.conn(), identity.id, "email", email).await
}
