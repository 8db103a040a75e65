//! The flow engine shared by login, registration, settings, recovery and verification.
//!
//! A flow is created by an init endpoint (`/self-service/<flow>/browser` or `/api`), persisted,
//! fetched by UIs (`/self-service/<flow>/flows?id=`), and submitted (`POST /self-service/<flow>?flow=`)
//! until it completes. Strategies (password, profile, code, ...) add their form nodes on creation
//! and handle submissions for their method; the engine handles CSRF, expiry, content negotiation
//! and error rendering the same way for every flow.

pub mod csrf;
pub mod respond;
pub mod return_to;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, response};
use crate::identity::Identity;
use crate::session::Aal;
use crate::ui::Container;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    Api,
    Browser,
}

impl FlowType {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Api => "api",
            FlowType::Browser => "browser",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    Login,
    Registration,
    Settings,
    Recovery,
    Verification,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
            FlowKind::Settings => "settings",
            FlowKind::Recovery => "recovery",
            FlowKind::Verification => "verification",
        }
    }

    pub fn parse(s: &str) -> Option<FlowKind> {
        [
            FlowKind::Login,
            FlowKind::Registration,
            FlowKind::Settings,
            FlowKind::Recovery,
            FlowKind::Verification,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Where the submit endpoint lives: `/self-service/<kind>`.
    pub fn submit_path(self) -> String {
        format!("/self-service/{}", self.as_str())
    }

    /// The browser init endpoint: `/self-service/<kind>/browser`.
    pub fn browser_init_path(self) -> String {
        format!("/self-service/{}/browser", self.as_str())
    }

    pub fn api_init_path(self) -> String {
        format!("/self-service/{}/api", self.as_str())
    }
}

/// Flow data kept next to the columns: whatever a kind or a strategy needs between steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowData {
    pub ui: Option<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(default)]
    pub refresh: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_aal: Option<Aal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_payload: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub continue_with: Vec<Value>,
    /// Strategy state that never leaves the server (e.g. a code's address, WebAuthn challenges).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: Uuid,
    pub kind: FlowKind,
    pub flow_type: FlowType,
    pub state: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub request_url: String,
    pub return_to: Option<String>,
    pub ui: Container,
    /// The identity a settings/recovery flow is for.
    pub identity_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// The masked CSRF token the flow was created with; fetching a browser flow requires the
    /// matching cookie, so one user cannot read another's flow.
    pub csrf_token: String,
    pub data: FlowData,
}

impl Flow {
    /// A new flow of `kind` for this request. `lifespan` comes from the flow's config.
    pub fn new(
        app: &App,
        kind: FlowKind,
        flow_type: FlowType,
        req: &Request,
        lifespan: std::time::Duration,
    ) -> Result<Flow> {
        let cfg = app.config();
        let now = crate::persistence::now();
        let lifespan = chrono::Duration::from_std(lifespan).unwrap_or(chrono::Duration::hours(1));
        let id = Uuid::new_v4();
        let return_to = return_to::from_request(app, req)?;
        let mut action = cfg.public_base_url();
        action.set_path(&format!(
            "{}{}",
            action.path().trim_end_matches('/'),
            kind.submit_path()
        ));
        action.set_query(Some(&format!("flow={id}")));
        Ok(Flow {
            id,
            kind,
            flow_type,
            state: initial_state(kind).to_string(),
            issued_at: now,
            expires_at: now + lifespan,
            created_at: now,
            updated_at: now,
            request_url: req.url_from(&cfg.public_base_url()),
            return_to,
            ui: Container::new(action.to_string()),
            identity_id: None,
            session_id: None,
            csrf_token: String::new(),
            data: FlowData::default(),
        })
    }

    pub fn is_browser(&self) -> bool {
        self.flow_type == FlowType::Browser
    }

    pub fn is_expired(&self) -> bool {
        self.expires_at <= Utc::now()
    }

    /// Whether the admin API created this flow: the browser that opens it did not, so it carries
    /// no CSRF token of it (Kratos's `DangerousSkipCSRFCheck`).
    pub fn skips_csrf_check(&self) -> bool {
        self.data.internal.get(SKIP_CSRF_CHECK) == Some(&Value::Bool(true))
    }

    /// Makes this new flow the replacement of `old` (expired, or abandoned after a used or
    /// invalid secret): same request and return URL, showing `message`.
    pub fn replaces(&mut self, old: &Flow, message: crate::text::Message) {
        self.request_url = old.request_url.clone();
        self.return_to = old.return_to.clone();
        self.ui.messages.push(message);
    }

    /// The flow's UI URL: `<ui_url>?flow=<id>`.
    pub fn ui_url(&self, base: &url::Url) -> String {
        let mut url = base.clone();
        url.query_pairs_mut()
            .append_pair("flow", &self.id.to_string());
        url.to_string()
    }

    /// Kratos's JSON for this flow kind. `identity` is included for settings flows.
    pub fn to_json(&self, identity: Option<&Identity>) -> Value {
        let mut v = Map::new();
        v.insert("id".into(), json!(self.id));
        v.insert("type".into(), json!(self.flow_type));
        v.insert("expires_at".into(), json!(self.expires_at));
        v.insert("issued_at".into(), json!(self.issued_at));
        v.insert("request_url".into(), json!(self.request_url));
        if let Some(rt) = &self.return_to {
            v.insert("return_to".into(), json!(rt));
        }
        if let Some(active) = &self.data.active {
            v.insert("active".into(), json!(active));
        }
        v.insert(
            "ui".into(),
            serde_json::to_value(&self.ui).unwrap_or(Value::Null),
        );
        v.insert("state".into(), json!(self.state));
        if let Some(tp) = &self.data.transient_payload {
            v.insert("transient_payload".into(), tp.clone());
        }
        match self.kind {
            FlowKind::Login => {
                if let Some(org) = self.data.organization_id {
                    v.insert("organization_id".into(), json!(org));
                }
                v.insert("created_at".into(), json!(self.created_at));
                v.insert("updated_at".into(), json!(self.updated_at));
                v.insert("refresh".into(), json!(self.data.refresh));
                v.insert(
                    "requested_aal".into(),
                    json!(self.data.requested_aal.unwrap_or(Aal::Aal1)),
                );
                if let Some(s) = &self.data.identity_schema {
                    v.insert("identity_schema".into(), json!(s));
                }
            }
            FlowKind::Registration => {
                if let Some(org) = self.data.organization_id {
                    v.insert("organization_id".into(), json!(org));
                }
                if let Some(s) = &self.data.identity_schema {
                    v.insert("identity_schema".into(), json!(s));
                }
            }
            FlowKind::Settings => {
                if let Some(i) = identity {
                    v.insert(
                        "identity".into(),
                        serde_json::to_value(i.clone().public_view()).unwrap_or(Value::Null),
                    );
                }
                if !self.data.continue_with.is_empty() {
                    v.insert("continue_with".into(), json!(self.data.continue_with));
                }
            }
            FlowKind::Recovery => {
                if !self.data.continue_with.is_empty() {
                    v.insert("continue_with".into(), json!(self.data.continue_with));
                }
            }
            FlowKind::Verification => {}
        }
        Value::Object(v)
    }

    /// The 410 error for submitting an expired flow, pointing at its replacement.
    pub fn expired_error(&self, replacement: Uuid) -> ApiError {
        let since = (Utc::now() - self.expires_at).to_std().unwrap_or_default();
        ApiError::gone()
            .with_id("self_service_flow_expired")
            .with_message("self-service flow expired")
            .with_reason(format!(
                "The self-service flow expired {:.2} minutes ago, initialize a new one.",
                since.as_secs_f64() / 60.0
            ))
            .with_envelope("expired_at", json!(self.expires_at))
            .with_envelope("since", json!(since.as_nanos() as u64))
            .with_envelope("use_flow_id", json!(replacement))
    }
}

/// Flow data key marking flows created by the admin API (see [`Flow::skips_csrf_check`]).
pub const SKIP_CSRF_CHECK: &str = "dangerous_skip_csrf_check";

fn initial_state(kind: FlowKind) -> &'static str {
    match kind {
        FlowKind::Settings => "show_form",
        _ => "choose_method",
    }
}

/// The `flow` query parameter of a submission, as a UUID.
pub fn flow_id_param(req: &Request) -> Result<Uuid> {
    match req.query_param("flow") {
        Some(id) if !id.is_empty() => crate::http::request::parse_uuid(&id, "flow"),
        _ => Err(ApiError::bad_request()
            .with_reason("The flow query parameter is missing or malformed.")
            .into()),
    }
}

/// The `id` query parameter of a flow fetch.
pub fn id_param(req: &Request) -> Result<Uuid> {
    match req.query_param("id") {
        Some(id) if !id.is_empty() => crate::http::request::parse_uuid(&id, "id"),
        _ => Err(ApiError::bad_request()
            .with_reason("The id query parameter is missing or malformed.")
            .into()),
    }
}

/// The flow a submission names in `?flow=`.
pub async fn submitted(app: &App, req: &Request, kind: FlowKind) -> Result<Flow> {
    let id = flow_id_param(req)?;
    load(app, kind, id).await
}

/// `GET /self-service/<kind>/flows?id=`: the flow, for the browser that created it (flows made
/// by the admin API excepted), unless it expired.
pub async fn fetch(app: &App, req: &Request, kind: FlowKind) -> Result<Response> {
    let id = id_param(req)?;
    let flow = load(app, kind, id).await?;
    if !flow.skips_csrf_check() {
        csrf::check_owner(app, req, &flow)?;
    }
    if flow.is_expired() {
        return Err(expired_on_fetch(app, &flow).into());
    }
    Ok(response::ok(&flow.to_json(None)))
}

/// Loads a stored flow of `kind`.
pub async fn load(app: &App, kind: FlowKind, id: Uuid) -> Result<Flow> {
    let mut c = app.db.conn().await?;
    let flow = crate::persistence::flows::get(c.conn(), kind, id).await?;
    Ok(flow)
}

/// The 410 Kratos returns when fetching an expired flow.
pub fn expired_on_fetch(app: &App, flow: &Flow) -> ApiError {
    let kind = flow.kind.as_str();
    let err = ApiError::gone().with_id("self_service_flow_expired");
    let mut init = app.config().public_base_url();
    if flow.is_browser() {
        init.set_path(&format!(
            "{}{}",
            init.path().trim_end_matches('/'),
            flow.kind.browser_init_path()
        ));
        if let Some(rt) = &flow.return_to {
            init.query_pairs_mut().append_pair("return_to", rt);
        }
        err.with_reason(format!("The {kind} flow has expired. Redirect the user to the {kind} flow init endpoint to initialize a new {kind} flow."))
            .with_detail("redirect_to", init.to_string())
            .with_detail("return_to", flow.return_to.clone().unwrap_or_default())
    } else {
        init.set_path(&format!(
            "{}{}",
            init.path().trim_end_matches('/'),
            flow.kind.api_init_path()
        ));
        err.with_reason(format!("The {kind} flow has expired. Call the {kind} flow init API endpoint to initialize a new {kind} flow."))
            .with_detail("api", init.to_string())
    }
}
