//! The settings flow: `/self-service/settings/{browser,api}`, `/self-service/settings/flows`,
//! `POST /self-service/settings`. Requires a session; sensitive changes (password, identifiers,
//! addresses) require a privileged session — one authenticated within
//! `privileged_session_max_age` — or the user is sent to re-authenticate (`refresh=true`).

use serde_json::{Value, json};
use url::Url;

use super::flow::{self, Flow, FlowKind, FlowType, csrf, respond};
use super::login::absolute;
use super::strategy::{self, Ctx, SettingsOutcome};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, RouterBuilder, response};
use crate::identity::Identity;
use crate::identity::manager::UpdateOptions;
use crate::persistence::flows;
use crate::session::{Session, manager};
use crate::ui::Group;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/settings/browser", init_browser);
    r.get("/self-service/settings/api", init_api);
    r.get("/self-service/settings/flows", get_flow);
    r.post("/self-service/settings", submit);
}

pub fn ui_url(app: &App) -> Url {
    absolute(app, app.config().selfservice.flows.settings.ui_url.as_str())
}

fn required_aal(app: &App) -> crate::config::RequiredAal {
    app.config().selfservice.flows.settings.required_aal
}

/// Whether the session was authenticated recently enough for sensitive changes.
pub fn is_privileged(app: &App, session: &Session) -> bool {
    let max_age = chrono::Duration::from_std(
        app.config()
            .selfservice
            .flows
            .settings
            .privileged_session_max_age,
    )
    .unwrap_or(chrono::Duration::hours(1));
    session.authenticated_at + max_age > chrono::Utc::now()
}

/// Kratos's 403 `session_refresh_required`, pointing at a refreshing login that returns here.
pub fn needs_reauth(app: &App, req: &Request) -> ApiError {
    let mut return_to = app.config().public_base_url();
    return_to.set_path(&format!(
        "{}{}",
        return_to.path().trim_end_matches('/'),
        req.path
    ));
    return_to.set_query(if req.query.is_empty() {
        None
    } else {
        Some(&req.query)
    });
    let mut login = app.config().public_base_url();
    login.set_path(&format!(
        "{}/self-service/login/browser",
        login.path().trim_end_matches('/')
    ));
    login
        .query_pairs_mut()
        .append_pair("refresh", "true")
        .append_pair("return_to", return_to.as_str());
    ApiError::forbidden()
        .with_id("session_refresh_required")
        .with_reason("The login session is too old and thus not allowed to update these fields. Please re-authenticate.")
        .with_envelope("redirect_browser_to", login.to_string())
}

fn schema_of(app: &App, identity: &Identity) -> Result<Value> {
    Ok(app.schemas.get(&identity.schema_id)?.document().clone())
}

/// A stored settings flow for the session's identity (e.g. after recovery).
pub async fn create_flow(
    app: &App,
    req: &Request,
    session: &Session,
    flow_type: FlowType,
) -> Result<(Flow, Vec<Cookie>)> {
    new_flow(app, req, session, flow_type).await
}

/// A settings flow for the session's identity, with every enabled method's form.
async fn new_flow(
    app: &App,
    req: &Request,
    session: &Session,
    flow_type: FlowType,
) -> Result<(Flow, Vec<Cookie>)> {
    let cfg = app.config();
    let identity = session
        .identity
        .clone()
        .ok_or_else(|| Error::internal("session without identity"))?;
    let mut flow = Flow::new(
        app,
        FlowKind::Settings,
        flow_type,
        req,
        cfg.selfservice.flows.settings.lifespan,
    )?;
    flow.identity_id = Some(identity.id);
    flow.session_id = Some(session.id);
    populate(app, req, session, &identity, &mut flow).await?;
    let cookies = csrf::protect_new_flow(app, req, &mut flow);
    flows::insert(&app.db, &flow).await?;
    Ok((flow, cookies))
}

async fn populate(
    app: &App,
    req: &Request,
    session: &Session,
    identity: &Identity,
    flow: &mut Flow,
) -> Result<()> {
    let cfg = app.config();
    let schema = schema_of(app, identity)?;
    let body = Value::Object(Default::default());
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: Some(session),
    };
    for s in strategy::enabled(&cfg) {
        s.settings_form(&ctx, flow, identity, &schema).await?;
    }
    let mut keys = vec!["csrf_token".to_string()];
    keys.extend(crate::ui::schema::trait_keys(&schema));
    flow.ui.sort(
        &[
            Group::Default,
            Group::Profile,
            Group::Password,
            Group::Oidc,
            Group::Totp,
            Group::LookupSecret,
            Group::Webauthn,
            Group::Passkey,
        ],
        &keys,
    );
    Ok(())
}

/// Session checks every settings endpoint makes: a session, and the required AAL.
async fn session_for(app: &App, req: &Request) -> Result<Session> {
    let session = manager::from_request(app, req).await?;
    manager::check_aal(app, &session, required_aal(app), None)?;
    Ok(session)
}

/// Browser errors before a flow exists: no session → the login page; AAL → the step-up URL.
fn browser_session_error(app: &App, req: &Request, err: &Error) -> Option<Response> {
    let Error::Api(api) = err else { return None };
    if req.is_json_request() {
        return None;
    }
    if api.id.as_deref() == Some("session_inactive") {
        // As Kratos: to the login init endpoint, taking over the request's `return_to`.
        let mut login = app.config().public_base_url();
        login.set_path(&format!(
            "{}/self-service/login/browser",
            login.path().trim_end_matches('/')
        ));
        if let Some(rt) = req.query_param("return_to").filter(|s| !s.is_empty()) {
            login.query_pairs_mut().append_pair("return_to", &rt);
        }
        return Some(response::redirect(login.as_str()));
    }
    if api.id.as_deref() == Some("session_aal2_required") {
        let to = api
            .envelope
            .as_ref()
            .and_then(|e| e.get("redirect_browser_to"))
            .and_then(Value::as_str)?;
        return Some(response::redirect(to));
    }
    None
}

async fn init_browser(app: App, req: Request) -> Result<Response> {
    let session = match session_for(&app, &req).await {
        Ok(s) => s,
        Err(err) => {
            return Ok(match browser_session_error(&app, &req, &err) {
                Some(res) => res,
                None => respond::forward(&app, &req, None, err).await,
            });
        }
    };
    match new_flow(&app, &req, &session, FlowType::Browser).await {
        Ok((flow, cookies)) => Ok(respond::send_new_flow(
            &req,
            &flow,
            session.identity.as_ref(),
            &ui_url(&app),
            &cookies,
        )),
        Err(err) => Ok(respond::forward(&app, &req, None, err).await),
    }
}

async fn init_api(app: App, req: Request) -> Result<Response> {
    let session = session_for(&app, &req).await?;
    let (flow, _) = new_flow(&app, &req, &session, FlowType::Api).await?;
    Ok(response::ok(&flow.to_json(session.identity.as_ref())))
}

fn identity_mismatch() -> ApiError {
    ApiError::forbidden()
        .with_id("security_identity_mismatch")
        .with_reason(
            "The request was made for another identity and has been blocked for security reasons.",
        )
}

/// Kratos's answer to fetching or submitting a settings flow without a session: a 302 to the
/// login UI for browsers, a 401 for JSON clients.
fn unauthenticated(app: &App, req: &Request) -> Response {
    if req.is_json_request() {
        let err = ApiError::unauthorized()
            .with_reason("A valid Ory Session Cookie or Ory Session Token is missing.");
        return response::render_error(&err.into(), req.request_id.as_deref());
    }
    response::redirect_with(http::StatusCode::FOUND, super::login::ui_url(app).as_str())
}

/// The request's session, or `Err` with the response for a caller without one.
async fn session_or_unauthenticated(
    app: &App,
    req: &Request,
) -> Result<std::result::Result<Session, Response>> {
    match manager::from_request(app, req).await {
        Ok(s) => Ok(Ok(s)),
        Err(Error::Api(api)) if api.code == 401 => Ok(Err(unauthenticated(app, req))),
        Err(e) => Err(e),
    }
}

async fn get_flow(app: App, req: Request) -> Result<Response> {
    let id = super::flow::id_param(&req)?;
    let session = match session_or_unauthenticated(&app, &req).await? {
        Ok(s) => s,
        Err(res) => return Ok(res),
    };
    let flow = flow::load(&app, FlowKind::Settings, id).await?;
    if flow.identity_id != Some(session.identity_id) {
        return Err(identity_mismatch().into());
    }
    manager::check_aal(&app, &session, required_aal(&app), None)?;
    if flow.is_expired() {
        return Err(flow::expired_on_fetch(&app, &flow).into());
    }
    Ok(response::ok(&flow.to_json(session.identity.as_ref())))
}

async fn submit(app: App, req: Request) -> Result<Response> {
    let ui = ui_url(&app);
    let flow_id = match super::flow::flow_id_param(&req) {
        Ok(id) => id,
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    let session = match session_or_unauthenticated(&app, &req).await {
        Ok(Ok(s)) => s,
        Ok(Err(res)) => return Ok(res),
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    let mut flow = match flow::load(&app, FlowKind::Settings, flow_id).await {
        Ok(f) => f,
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    let wants_json = respond::wants_json(&req, flow.flow_type);
    let session = match manager::check_aal(&app, &session, required_aal(&app), None) {
        Ok(()) => session,
        Err(err) => {
            if !wants_json {
                if let Some(res) = browser_session_error(&app, &req, &err) {
                    return Ok(res);
                }
                return Ok(respond::forward(&app, &req, Some(&flow), err).await);
            }
            return Err(err);
        }
    };
    if flow.identity_id != Some(session.identity_id) {
        return Ok(respond::forward(&app, &req, Some(&flow), identity_mismatch().into()).await);
    }
    if flow.is_expired() {
        let replacement = match new_flow(&app, &req, &session, flow.flow_type).await {
            Ok((mut f, _)) => {
                f.ui.messages
                    .push(crate::text::error_validation_settings_flow_expired(
                        flow.expires_at,
                        chrono::Utc::now() - flow.expires_at,
                    ));
                f.request_url = flow.request_url.clone();
                f.return_to = flow.return_to.clone();
                let mut c = app.db.conn().await?;
                flows::update(c.conn(), &f).await?;
                Ok(f)
            }
            Err(e) => Err(e),
        };
        return Ok(respond::expired(&app, &req, &flow, replacement, &ui).await);
    }
    let body = match req.form_or_json() {
        Ok(b) => b,
        Err(err) => {
            return Ok(respond::flow_error(&app, &req, Some(flow), Group::Default, err, &ui).await);
        }
    };
    let mut group = Group::Default;
    match submit_flow(&app, &req, &mut flow, &session, &body, &mut group).await {
        Ok(res) => Ok(res),
        Err(Error::Api(api)) if api.id.as_deref() == Some("session_refresh_required") => {
            if wants_json {
                Ok(response::render_error(
                    &Error::Api(api),
                    req.request_id.as_deref(),
                ))
            } else {
                let to = api
                    .envelope
                    .as_ref()
                    .and_then(|e| e.get("redirect_browser_to"))
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_string();
                Ok(response::redirect(&to))
            }
        }
        Err(err) => {
            if let Some(traits) = body.get("traits") {
                flow.ui
                    .update_values_from_json(traits, "traits", Group::Profile);
            }
            Ok(respond::submit_error(&app, &req, flow, group, err, &ui).await)
        }
    }
}

async fn submit_flow(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    session: &Session,
    body: &Value,
    group: &mut Group,
) -> Result<Response> {
    csrf::check_submission(app, req, flow, body)?;
    let identity = session
        .identity
        .clone()
        .ok_or_else(|| Error::internal("session without identity"))?;
    let schema = schema_of(app, &identity)?;
    let cfg = app.config();
    let ctx = Ctx {
        app,
        req,
        body,
        session: Some(session),
    };
    for s in strategy::enabled(&cfg) {
        *group = s.group();
        match s.settings(&ctx, flow, &identity, &schema).await? {
            SettingsOutcome::NotResponsible => continue,
            SettingsOutcome::Update(mut updated) => {
                flow.data.active = Some(s.id().to_string());
                let options = UpdateOptions {
                    allow_write_protected: is_privileged(app, session),
                };
                if let Err(err) = app.identities().update(&mut updated, options).await {
                    // An unprivileged change to identifiers or addresses: re-authenticate first.
                    return Err(match err {
                        Error::Api(api) if api.code == 403 && api.id.is_none() => {
                            needs_reauth(app, req).into()
                        }
                        other => other,
                    });
                }
                return finish(app, req, flow, session, *updated, s.id()).await;
            }
        }
    }
    *group = Group::Default;
    Err(crate::error::FormErrors::global(crate::text::error_validation_settings_no_strategy_found()).into())
}

/// After a successful update: the flow shows the new state with a success message; browsers are
/// redirected to the settings UI (or `return_to`).
async fn finish(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    session: &Session,
    identity: Identity,
    method: &str,
) -> Result<Response> {
    flow.state = "success".into();
    let mut session = session.clone();
    session.identity = Some(identity.clone());
    flow.ui = crate::ui::Container::new(flow.ui.action.clone());
    populate(app, req, &session, &identity, flow).await?;
    if flow.is_browser() {
        let (raw, _) = csrf::ensure_token(app, req);
        flow.ui.set_csrf(&csrf::mask(&raw));
    }
    flow.ui
        .messages
        .push(crate::text::info_self_service_settings_update_success());
    let cfg = app.config();
    let default = cfg
        .selfservice
        .flows
        .settings
        .after
        .default_browser_return_url
        .as_ref()
        .map(|u| absolute(app, u.as_str()))
        .unwrap_or_else(|| Url::parse(&flow.ui_url(&ui_url(app))).unwrap_or_else(|_| ui_url(app)));
    let return_to =
        super::flow::return_to::after_flow(app, flow.return_to.as_deref(), Some(default))?;
    if flow.is_browser() && req.is_json_request() {
        flow.data.continue_with.push(
            json!({ "action": "redirect_browser_to", "redirect_browser_to": return_to.as_str() }),
        );
    }
    let _ = method;
    // A new or changed address gets a verification message, announced in `continue_with`.
    let verification =
        crate::selfservice::verification::send_for_identity(app, req, &identity, flow.flow_type)
            .await?;
    flow.data.continue_with.extend(verification);
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), flow).await?;
    if flow.flow_type == FlowType::Api || req.is_json_request() {
        return Ok(response::ok(&flow.to_json(Some(&identity))));
    }
    Ok(response::redirect(return_to.as_str()))
}
