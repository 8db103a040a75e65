//! The courier: a persistent queue of rendered messages and the worker delivering them.
//!
//! Flows call [`queue`] with a [`TemplateType`], a [`Channel`], the recipient and a template
//! model. The message is rendered right away (subject and plaintext body are stored, as Kratos
//! does) and inserted with status `queued`. A worker ([`worker::run`], started by
//! `kratos serve --watch-courier` or `kratos courier watch`) claims queued messages atomically,
//! re-renders the HTML body from the stored model, and delivers them over SMTP or HTTP. Every
//! attempt is recorded as a dispatch; after `courier.message_retries` failed attempts a message
//! is `abandoned`.
//!
//! # Template variables
//!
//! The model is a JSON object whose keys are Kratos's template variable names; see
//! [`template`] for the full list and the template syntax.

pub mod handlers;
pub mod http;
pub mod smtp;
pub mod template;
pub mod worker;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, Result};
use crate::persistence::courier as store;

/// Which message is sent; the names are Kratos's (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateType {
    RecoveryInvalid,
    RecoveryValid,
    RecoveryCodeInvalid,
    RecoveryCodeValid,
    VerificationInvalid,
    VerificationValid,
    VerificationCodeInvalid,
    VerificationCodeValid,
    LoginCodeValid,
    RegistrationCodeValid,
}

impl TemplateType {
    pub const ALL: [TemplateType; 10] = [
        TemplateType::RecoveryInvalid,
        TemplateType::RecoveryValid,
        TemplateType::RecoveryCodeInvalid,
        TemplateType::RecoveryCodeValid,
        TemplateType::VerificationInvalid,
        TemplateType::VerificationValid,
        TemplateType::VerificationCodeInvalid,
        TemplateType::VerificationCodeValid,
        TemplateType::LoginCodeValid,
        TemplateType::RegistrationCodeValid,
    ];

    /// Kratos's name, as stored in `template_type` and shown by the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateType::RecoveryInvalid => "recovery_invalid",
            TemplateType::RecoveryValid => "recovery_valid",
            TemplateType::RecoveryCodeInvalid => "recovery_code_invalid",
            TemplateType::RecoveryCodeValid => "recovery_code_valid",
            TemplateType::VerificationInvalid => "verification_invalid",
            TemplateType::VerificationValid => "verification_valid",
            TemplateType::VerificationCodeInvalid => "verification_code_invalid",
            TemplateType::VerificationCodeValid => "verification_code_valid",
            TemplateType::LoginCodeValid => "login_code_valid",
            TemplateType::RegistrationCodeValid => "registration_code_valid",
        }
    }

    pub fn parse(s: &str) -> Option<TemplateType> {
        TemplateType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// How a message travels: email (SMTP or the HTTP mailer) or SMS (the `sms` channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The `channel` column and API field.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The message `type` in Kratos's API: `email` or `phone`.
    pub fn message_type(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "phone",
        }
    }
}

/// A message to render and queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub template: TemplateType,
    pub channel: Channel,
    pub recipient: String,
    /// Template variables by Kratos's names (`To`, `RecoveryCode`, `Identity`, ...).
    pub model: serde_json::Value,
}

/// Renders the template with `model` and queues the message; returns its id.
pub async fn queue(app: &crate::App, msg: Outgoing) -> Result<Uuid> {
    let recipient = msg.recipient.trim().to_string();
    if recipient.is_empty() || (msg.channel == Channel::Email && !recipient.contains('@')) {
        return Err(ApiError::bad_request()
            .with_reason(format!(
                "The courier cannot send a message to \"{recipient}\"."
            ))
            .into());
    }
    let mut model = msg.model;
    if let serde_json::Value::Object(map) = &mut model
        && !map.contains_key("To")
    {
        map.insert("To".into(), serde_json::Value::String(recipient.clone()));
    }
    let rendered = template::render(app, msg.template, msg.channel, &model).await?;
    let id = Uuid::new_v4();
    let new = store::NewMessage {
        id,
        channel: msg.channel,
        recipient: &recipient,
        subject: &rendered.subject,
        body: &rendered.plaintext,
        template: msg.template,
        template_data: &serde_json::to_string(&model)?,
    };
    let mut c = app.db.conn().await?;
    store::insert(c.conn(), &new).await?;
    tracing::debug!(message_id = %id, template = msg.template.as_str(), "courier message queued");
    Ok(id)
}
