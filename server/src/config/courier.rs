//! `courier`: how recovery, verification and login messages are delivered.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hooks::HttpRequestConfig;
use super::values::{GoDuration, Sensitive};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Courier {
    pub templates: CourierTemplates,
    /// Directory with template overrides (Go templates, as Kratos's layout).
    pub template_override_path: Option<String>,
    /// Delivery attempts before a message is abandoned.
    pub message_retries: u32,
    pub worker: CourierWorker,
    /// How email is sent.
    pub delivery_strategy: DeliveryStrategy,
    pub http: CourierHttp,
    pub smtp: Smtp,
    /// Additional channels (SMS over HTTP).
    pub channels: Vec<CourierChannel>,
}

impl Default for Courier {
    fn default() -> Self {
        Courier {
            templates: CourierTemplates::default(),
            template_override_path: None,
            message_retries: 5,
            worker: CourierWorker::default(),
            delivery_strategy: DeliveryStrategy::Smtp,
            http: CourierHttp::default(),
            smtp: Smtp::default(),
            channels: Vec::new(),
        }
    }
}

/// Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierWorker {
    /// Messages fetched per poll.
    pub pull_count: u32,
    /// Pause between polls.
    #[serde(with = "GoDuration")]
    pub pull_wait: Duration,
}

impl Default for CourierWorker {
    fn default() -> Self {
        CourierWorker {
            pull_count: 10,
            pull_wait: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStrategy {
    #[default]
    Smtp,
    Http,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CourierHttp {
    pub request_config: HttpRequestConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// `smtp://user:password@host:port/` or `smtps://...`; query options such as
    /// `skip_ssl_verify`, `disable_starttls`, `server_name`.
    #[schemars(regex(pattern = r"^smtps?://"))]
    pub connection_uri: Option<Sensitive<String>>,
    /// Client certificate for mutual TLS (PEM file path; empty: none).
    pub client_cert_path: String,
    pub client_key_path: String,
    #[schemars(email)]
    pub from_address: String,
    pub from_name: Option<String>,
    /// Extra headers on every email.
    pub headers: BTreeMap<String, String>,
    /// Name sent in `HELO`/`EHLO`.
    pub local_name: String,
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            connection_uri: None,
            client_cert_path: String::new(),
            client_key_path: String::new(),
            from_address: "no-reply@ory.kratos.sh".to_string(),
            from_name: None,
            headers: BTreeMap::new(),
            local_name: "localhost".to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CourierChannel {
    pub id: ChannelId,
    #[serde(default)]
    pub r#type: Option<ChannelType>,
    pub request_config: HttpRequestConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelId {
    Sms,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelType {
    Http,
}

/// Template overrides per message type. Template locations are `file://`, `base64://` or
/// `http(s)://` URLs.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CourierTemplates {
    pub recovery: Option<TemplateSet>,
    pub recovery_code: Option<TemplateSet>,
    pub verification: Option<TemplateSet>,
    pub verification_code: Option<TemplateSet>,
    pub registration_code: Option<ValidTemplateSet>,
    pub login_code: Option<ValidTemplateSet>,
}

/// Templates for a message to a known (`valid`) and an unknown (`invalid`) address.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSet {
    pub invalid: Option<InvalidTemplates>,
    pub valid: Option<ValidTemplates>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ValidTemplateSet {
    pub valid: Option<ValidTemplates>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidTemplates {
    pub email: EmailTemplate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidTemplates {
    pub email: EmailTemplate,
    #[serde(default)]
    pub sms: Option<SmsTemplate>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmailTemplate {
    pub body: Option<EmailBody>,
    #[schemars(url)]
    pub subject: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmailBody {
    #[schemars(url)]
    pub plaintext: Option<String>,
    #[schemars(url)]
    pub html: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SmsTemplate {
    pub body: Option<SmsBody>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SmsBody {
    #[schemars(url)]
    pub plaintext: Option<String>,
}
