//! Self-service hooks (`selfservice.flows.*.before/after(.<method>).hooks`) and the HTTP request
//! settings shared by web hooks, the password migration hook and the HTTP courier.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use super::values::{Sensitive, Untyped};

/// One hook. Which kinds are allowed depends on where the hook is configured; the loader checks
/// that (see `checks.rs`), as Kratos's schema does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "hook", rename_all = "snake_case", deny_unknown_fields)]
pub enum Hook {
    /// Issue a session right after registration.
    Session,
    /// Revoke the identity's other sessions.
    RevokeActiveSessions,
    /// Refuse login until an address is verified.
    RequireVerifiedAddress,
    /// Redirect browsers to the verification UI after the flow.
    ShowVerificationUi,
    /// Send a verification message for unverified addresses.
    Verification,
    /// Call an HTTP endpoint (optionally able to interrupt the flow or patch the identity).
    WebHook { config: Box<WebHookConfig> },
    /// Organisation SSO (Ory Network). Not implemented by kratos-rs.
    B2bSso { config: Untyped },
    /// Former name of `b2b_sso`.
    Organization { config: Untyped },
}

impl Hook {
    /// The hook's name as written in the configuration (`hook: <name>`).
    pub fn kind(&self) -> &'static str {
        match self {
            Hook::Session => "session",
            Hook::RevokeActiveSessions => "revoke_active_sessions",
            Hook::RequireVerifiedAddress => "require_verified_address",
            Hook::ShowVerificationUi => "show_verification_ui",
            Hook::Verification => "verification",
            Hook::WebHook { .. } => "web_hook",
            Hook::B2bSso { .. } => "b2b_sso",
            Hook::Organization { .. } => "organization",
        }
    }
}

/// `hook: web_hook` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebHookConfig {
    /// Free-form identifier (shows up in logs and events).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub response: WebHookResponse,
    pub url: Url,
    /// HTTP method (`POST`, `PUT`, ...).
    pub method: String,
    #[serde(default)]
    pub headers: Sensitive<BTreeMap<String, String>>,
    /// Jsonnet body template: `http(s)://`, `file://` or `base64://` URL, or inline Jsonnet.
    #[serde(default)]
    pub body: Option<String>,
    /// Let the hook's response abort the flow with validation messages.
    #[serde(default)]
    pub can_interrupt: bool,
    #[serde(default = "yes")]
    pub emit_analytics_event: bool,
    #[serde(default)]
    pub auth: Option<HttpAuth>,
}

fn yes() -> bool {
    true
}

/// How the web hook's response is treated. `ignore` and `parse` exclude each other.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WebHookResponse {
    /// Fire and forget: do not wait for the response.
    pub ignore: bool,
    /// Read identity/transient payload changes from the response.
    pub parse: bool,
}

/// Authentication for outgoing HTTP requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "config", rename_all = "snake_case")]
pub enum HttpAuth {
    ApiKey(ApiKeyAuth),
    BasicAuth(BasicAuth),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    pub name: String,
    pub value: Sensitive<String>,
    /// Where the key goes.
    pub r#in: ApiKeyLocation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyLocation {
    Header,
    Cookie,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    pub password: Sensitive<String>,
}

/// An HTTP request the courier sends (`courier.http.request_config`, SMS channels).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpRequestConfig {
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: Option<Url>,
    pub method: String,
    pub headers: Sensitive<BTreeMap<String, String>>,
    /// Jsonnet payload template (`http(s)://`, `file://`, `base64://`). Unset: the courier's
    /// built-in template, which sends the message fields as JSON (as Kratos's default does).
    #[schemars(url, regex(pattern = r"^(http|https|file|base64)://"))]
    pub body: Option<String>,
    pub auth: Option<HttpAuth>,
}

impl Default for HttpRequestConfig {
    fn default() -> Self {
        HttpRequestConfig {
            url: None,
            method: "POST".to_string(),
            headers: Sensitive::default(),
            body: None,
            auth: None,
        }
    }
}
