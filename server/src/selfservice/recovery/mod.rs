//! The recovery flow: `/self-service/recovery/{browser,api}`, `/self-service/recovery/flows`,
//! `POST /self-service/recovery` (and `GET` for links), and the admin endpoints
//! `POST /admin/recovery/{link,code}`.
//!
//! The method is the one in `selfservice.flows.recovery.use` (`code` or `link`). A successful
//! recovery issues a session, runs the post-recovery hooks and hands the user a settings flow
//! to set new credentials within the privileged session window.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

use super::flow::{Flow, FlowKind, FlowType, csrf, respond, return_to};
use super::login::absolute;
use super::strategy::{self, Ctx, OneTimeOutcome, Strategy};
use crate::app::App;
use crate::config::Hook;
use crate::error::{ApiError, Error, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, RouterBuilder, response};
use crate::identity::{CredentialsType, Identity};
use crate::persistence::flows;
use crate::session::{Aal, AuthenticationMethod, manager};
use crate::text::Message;
use crate::ui::Group;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/recovery/browser", init_browser);
    r.get("/self-service/recovery/api", init_api);
    r.get("/self-service/recovery/flows", get_flow);
    r.post("/self-service/recovery", submit);
    r.get("/self-service/recovery", submit);
}

pub fn register_admin(r: &mut RouterBuilder) {
    r.post("/admin/recovery/link", admin_link);
    r.post("/admin/recovery/code", admin_code);
}

pub fn ui_url(app: &App) -> Url {
    absolute(app, app.config().selfservice.flows.recovery.ui_url.as_str())
}

fn disabled() -> ApiError {
    ApiError::bad_request().with_reason("Recovery is not allowed because it was disabled.")
}

pub fn already_logged_in() -> ApiError {
    ApiError::bad_request()
        .with_id("session_already_available")
        .with_reason("A valid session was detected and thus recovery is not possible.")
}

/// The method recovery uses (`selfservice.flows.recovery.use`), if that method is enabled.
pub fn method_in_use(app: &App) -> Result<&'static dyn Strategy> {
    let cfg = app.config();
    strategy::in_use(&cfg, cfg.selfservice.flows.recovery.r#use, "recovery")
}

/// The method a flow was created with (admin links use `link` whatever `use` says); it must
/// still be enabled.
fn method_of(app: &App, flow: &Flow) -> Result<&'static dyn Strategy> {
    let not_found = crate::text::error_validation_recovery_no_strategy_found();
    strategy::of_flow(&app.config(), flow, not_found)
}

/// A new recovery flow for `method`, without its form, not yet stored.
pub fn build_flow(
    app: &App,
    req: &Request,
    flow_type: FlowType,
    lifespan: std::time::Duration,
    method: &dyn Strategy,
) -> Result<(Flow, Vec<Cookie>)> {
    let mut flow = Flow::new(app, FlowKind::Recovery, flow_type, req, lifespan)?;
    flow.data.active = Some(method.id().to_string());
    let cookies = csrf::protect_new_flow(app, req, &mut flow);
    Ok((flow, cookies))
}

/// A new recovery flow showing `method`'s first screen, not yet stored.
async fn build_flow_with_form(
    app: &App,
    req: &Request,
    flow_type: FlowType,
    method: &dyn Strategy,
) -> Result<(Flow, Vec<Cookie>)> {
    let lifespan = app.config().selfservice.flows.recovery.lifespan;
    let (mut flow, cookies) = build_flow(app, req, flow_type, lifespan, method)?;
    let body = Value::Object(Default::default());
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: None,
    };
    method.recovery_form(&ctx, &mut flow).await?;
    Ok((flow, cookies))
}

async fn new_flow(app: &App, req: &Request, flow_type: FlowType) -> Result<(Flow, Vec<Cookie>)> {
    if !app.config().selfservice.flows.recovery.enabled {
        return Err(disabled().into());
    }
    if manager::optional_from_request(app, req).await?.is_some() {
        return Err(already_logged_in().into());
    }
    let (flow, cookies) = build_flow_with_form(app, req, flow_type, method_in_use(app)?).await?;
    flows::insert(&app.db, &flow).await?;
    Ok((flow, cookies))
}

async fn init_browser(app: App, req: Request) -> Result<Response> {
    let created = new_flow(&app, &req, FlowType::Browser).await;
    respond::new_browser_flow(&app, &req, created, &ui_url(&app), || {
        Ok(return_to::default_return_url(&app))
    })
    .await
}

async fn init_api(app: App, req: Request) -> Result<Response> {
    let (flow, _) = new_flow(&app, &req, FlowType::Api).await?;
    Ok(response::ok(&flow.to_json(None)))
}

async fn get_flow(app: App, req: Request) -> Result<Response> {
    if !app.config().selfservice.flows.recovery.enabled {
        return Err(disabled().into());
    }
    super::flow::fetch(&app, &req, FlowKind::Recovery).await
}

/// The submission: the JSON or form body, or for link clicks (`GET`) the query.
pub fn submission_body(req: &Request) -> Result<Value> {
    if req.method == http::Method::GET {
        return Ok(crate::http::form::decode(&req.query));
    }
    req.form_or_json()
}

async fn submit(app: App, req: Request) -> Result<Response> {
    let ui = ui_url(&app);
    if !app.config().selfservice.flows.recovery.enabled {
        return Ok(respond::forward(&app, &req, None, disabled().into()).await);
    }
    let mut flow = match super::flow::submitted(&app, &req, FlowKind::Recovery).await {
        Ok(f) => f,
        Err(Error::Api(api)) if api.code == 404 => {
            let err = ApiError::not_found()
                .with_reason("The recovery request could not be found. Please restart the flow.");
            return Ok(respond::forward(&app, &req, None, err.into()).await);
        }
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    if flow.is_expired() {
        let message = crate::text::error_validation_recovery_flow_expired(
            flow.expires_at,
            chrono::Utc::now() - flow.expires_at,
        );
        let replacement = replacement(&app, &req, &flow, message).await;
        return Ok(respond::expired(&app, &req, &flow, replacement, &ui).await);
    }
    let body = match submission_body(&req) {
        Ok(b) => b,
        Err(err) => {
            return Ok(respond::flow_error(&app, &req, Some(flow), Group::Default, err, &ui).await);
        }
    };
    let group = strategy::one_time_group(&flow);
    match submit_flow(&app, &req, &mut flow, &body).await {
        Ok(res) => Ok(res),
        Err(err) => {
            if let Some(email) = body.get("email").and_then(Value::as_str)
                && let Some(node) = flow.ui.node_mut("email")
                && node
                    .input_attributes()
                    .is_some_and(|a| a.input_type != crate::ui::InputType::Submit)
            {
                *node = node.clone().with_value(email);
            }
            Ok(respond::submit_error(&app, &req, flow, group, err, &ui).await)
        }
    }
}

async fn submit_flow(app: &App, req: &Request, flow: &mut Flow, body: &Value) -> Result<Response> {
    strategy::keep_transient_payload(flow, body);
    let session = manager::optional_from_request(app, req).await?;
    let ctx = Ctx {
        app,
        req,
        body,
        session: session.as_ref(),
    };
    let outcome = method_of(app, flow)?.recover(&ctx, flow).await?;
    let no_strategy = crate::text::error_validation_recovery_no_strategy_found();
    outcome
        .answer(app, flow, no_strategy, |flow| send_updated(app, req, flow))
        .await
}

/// A flow the method changed: browsers go back to the UI, everyone else gets the flow.
pub fn send_updated(app: &App, req: &Request, flow: &Flow) -> Response {
    if flow.is_browser() && !req.is_json_request() {
        response::redirect(&flow.ui_url(&ui_url(app)))
    } else {
        response::ok(&flow.to_json(None))
    }
}

/// A stored replacement for `old` (same type and return URL) carrying `message`.
async fn replacement(app: &App, req: &Request, old: &Flow, message: Message) -> Result<Flow> {
    let (mut flow, _) = build_flow_with_form(app, req, old.flow_type, method_of(app, old)?).await?;
    flow.replaces(old, message);
    flows::insert(&app.db, &flow).await?;
    Ok(flow)
}

/// Abandons `old` for a new flow showing `message` (a used or invalid secret, too many
/// attempts): browsers are sent to the new flow's UI, JSON clients to the new flow itself.
pub async fn retry(
    app: &App,
    req: &Request,
    old: &Flow,
    message: Message,
) -> Result<OneTimeOutcome> {
    let flow = replacement(app, req, old, message).await?;
    let mut res = if req.is_json_request() || flow.flow_type == FlowType::Api {
        let mut url = app.config().public_base_url();
        url.set_path(&format!(
            "{}/self-service/recovery/flows",
            url.path().trim_end_matches('/')
        ));
        url.query_pairs_mut()
            .append_pair("id", &flow.id.to_string());
        response::redirect(url.as_str())
    } else {
        response::redirect(&flow.ui_url(&ui_url(app)))
    };
    if flow.is_browser()
        && let (_, Some(cookie)) = csrf::ensure_token(app, req)
    {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(OneTimeOutcome::Respond(res))
}

/// The model every recovery and verification template receives besides its secret.
pub fn message_model(flow: &Flow, to: &str, identity: Option<&Identity>, minutes: u64) -> Value {
    json!({
        "To": to,
        "Identity": identity.map(|i| serde_json::to_value(i.clone().public_view()).unwrap_or(Value::Null)),
        "RequestURL": flow.request_url,
        "TransientPayload": flow.data.transient_payload.clone().unwrap_or_else(|| json!({})),
        "ExpiresInMinutes": minutes,
    })
}

/// Completes a recovery for `identity`: a session, the post-recovery hooks, and a settings flow
/// with the privileged-session deadline. Browser flows get the session cookie and are sent to the
/// settings UI; API flows get the token and the settings flow in `continue_with`.
pub async fn complete(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    identity: Identity,
    method: CredentialsType,
) -> Result<Response> {
    if !identity.is_active() {
        return Err(ApiError::unauthorized()
            .with_id("session_inactive")
            .with_reason("This account has been disabled. Please contact support for assistance.")
            .into());
    }
    let cfg = app.config();
    flow.ui.messages.clear();
    flow.state = "passed_challenge".into();
    flow.identity_id = Some(identity.id);
    let issued = manager::issue(
        app,
        &identity,
        vec![AuthenticationMethod {
            method,
            aal: Aal::Aal1,
            completed_at: crate::persistence::now(),
            provider: String::new(),
            organization: String::new(),
        }],
        req,
        None,
    )
    .await?;
    if cfg
        .selfservice
        .flows
        .recovery
        .after
        .hooks
        .iter()
        .any(|h| matches!(h, Hook::RevokeActiveSessions))
    {
        manager::revoke_all_of_identity(app, identity.id, Some(issued.session.id)).await?;
    }
    let settings_type = flow.flow_type;
    let (mut settings, csrf_cookies) =
        super::settings::create_flow(app, req, &issued.session, settings_type).await?;
    let max_age =
        chrono::Duration::from_std(cfg.selfservice.flows.settings.privileged_session_max_age)
            .unwrap_or(chrono::Duration::minutes(15));
    let deadline = issued.session.authenticated_at + max_age;
    settings.ui.messages = vec![crate::text::recovery_successful(
        deadline,
        deadline - chrono::Utc::now(),
    )];
    if let Some(default) = cfg
        .selfservice
        .flows
        .recovery
        .after
        .default_browser_return_url
        .as_ref()
    {
        settings.return_to = Some(absolute(app, default.as_str()).to_string());
    } else if flow.return_to.is_some() {
        settings.return_to = flow.return_to.clone();
    }
    let settings_ui = super::settings::ui_url(app);
    let settings_url = settings.ui_url(&settings_ui);
    {
        let mut c = app.db.conn().await?;
        flows::update(c.conn(), &settings).await?;
    }

    if flow.flow_type == FlowType::Api {
        flow.data
            .continue_with
            .push(json!({ "action": "set_ory_session_token", "ory_session_token": issued.token }));
    }
    flow.data.continue_with.push(json!({
        "action": "show_settings_ui",
        "flow": { "id": settings.id, "url": settings_url },
    }));
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), flow).await?;
    drop(c);

    if flow.flow_type == FlowType::Api {
        return Ok(response::ok(&flow.to_json(None)));
    }
    let mut res = if req.is_json_request() {
        response::render_error(
            &respond::location_change_required(&settings_url).into(),
            req.request_id.as_deref(),
        )
    } else {
        response::redirect(&settings_url)
    };
    response::add_cookie(
        &mut res,
        &manager::session_cookie(app, &issued.token, issued.session.expires_at).to_header(),
    );
    // The settings flow was created with this browser's CSRF token (new if it had none).
    for cookie in csrf_cookies {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(res)
}

#[derive(Deserialize)]
struct AdminBody {
    identity_id: Uuid,
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    flow_type: Option<String>,
}

fn parse_admin_body(req: &Request) -> Result<AdminBody> {
    let body: AdminBody = serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::bad_request().with_reason(format!("Unable to decode the request body: {e}"))
    })?;
    Ok(body)
}

/// `expires_in` as a duration (Go syntax, e.g. `1h`), else the method's lifespan.
fn admin_lifespan(raw: Option<&str>, default: std::time::Duration) -> Result<std::time::Duration> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => crate::config::parse_go_duration(s).map_err(|_| {
            ApiError::bad_request()
                .with_reason(format!("Unable to parse \"expires_in\" whose format should match \"[0-9]+(ns|us|ms|s|m|h)\" but did not: {s}"))
                .into()
        }),
    }
}

async fn admin_identity(app: &App, id: Uuid) -> Result<Identity> {
    let mut c = app.db.conn().await?;
    match crate::persistence::identities::find(
        c.conn(),
        id,
        crate::persistence::identities::Expand::EVERYTHING,
    )
    .await?
    {
        Some(i) => Ok(i),
        None => Err(ApiError::not_found()
            .with_reason("The requested resource could not be found")
            .into()),
    }
}

fn admin_enabled(app: &App) -> Result<()> {
    if !app.config().selfservice.flows.recovery.enabled {
        return Err(ApiError::bad_request()
            .with_reason("The recovery flow is disabled.")
            .into());
    }
    Ok(())
}

async fn admin_link(app: App, req: Request) -> Result<Response> {
    admin_enabled(&app)?;
    let body = parse_admin_body(&req)?;
    let cfg = app.config();
    let lifespan = admin_lifespan(
        body.expires_in.as_deref(),
        cfg.selfservice.methods.link.config.lifespan,
    )?;
    let identity = admin_identity(&app, body.identity_id).await?;
    if !identity.is_active() {
        return Err(ApiError::bad_request()
            .with_reason("The identity is not active.")
            .into());
    }
    let (link, expires_at) =
        strategy::link::admin_recovery_link(&app, &req, &identity, lifespan).await?;
    Ok(response::ok(&json!({
        "recovery_link": link,
        "expires_at": expires_at,
    })))
}

async fn admin_code(app: App, req: Request) -> Result<Response> {
    admin_enabled(&app)?;
    let body = parse_admin_body(&req)?;
    let cfg = app.config();
    let lifespan = admin_lifespan(
        body.expires_in.as_deref(),
        cfg.selfservice.methods.code.config.lifespan,
    )?;
    let flow_type = match body.flow_type.as_deref() {
        None | Some("") | Some("browser") => FlowType::Browser,
        Some("api") => FlowType::Api,
        Some(other) => {
            return Err(ApiError::bad_request()
                .with_reason(format!("{other} is not a valid flow type"))
                .into());
        }
    };
    let identity = admin_identity(&app, body.identity_id).await?;
    if !identity.is_active() {
        return Err(ApiError::bad_request()
            .with_reason("The identity is not active.")
            .into());
    }
    let (link, code, expires_at) =
        strategy::code::admin_recovery_code(&app, &req, &identity, flow_type, lifespan).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &json!({
            "recovery_link": link,
            "recovery_code": code,
            "expires_at": expires_at,
        }),
    ))
}
