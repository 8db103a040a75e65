//! The registration flow: `/self-service/registration/{browser,api}`,
//! `/self-service/registration/flows`, `POST /self-service/registration`.
//!
//! With `style: profile_first` (the default) the user first submits traits (`method=profile`),
//! then picks a credential; with `style: unified` every method's fields are on one form.

use serde_json::{Value, json};
use url::Url;

use super::flow::{Flow, FlowKind, FlowType, csrf, respond, return_to};
use super::login::{absolute, already_logged_in};
use super::strategy::{self, Ctx, RegistrationOutcome};
use crate::app::App;
use crate::config::Hook;
use crate::error::{ApiError, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, RouterBuilder, response};
use crate::identity::Identity;
use crate::persistence::flows;
use crate::session::{Aal, AuthenticationMethod, manager};
use crate::ui::Group;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/registration/browser", init_browser);
    r.get("/self-service/registration/api", init_api);
    r.get("/self-service/registration/flows", get_flow);
    r.post("/self-service/registration", submit);
}

fn ui_url(app: &App) -> Url {
    absolute(
        app,
        app.config().selfservice.flows.registration.ui_url.as_str(),
    )
}

/// Whether registration asks for traits first (`profile_first`) or shows one form (`unified`).
pub fn profile_first(app: &App) -> bool {
    let cfg = app.config();
    let reg = &cfg.selfservice.flows.registration;
    !reg.enable_legacy_one_step && reg.style == crate::config::RegistrationStyle::ProfileFirst
}

fn disabled() -> ApiError {
    ApiError::bad_request()
        .with_id("self_service_flow_disabled")
        .with_message("registration flow disabled")
        .with_reason("Registration is not allowed because it was disabled.")
}

/// The identity schema a registration flow uses: `?identity_schema=` when the schema is
/// selectable, else the default.
fn schema_id(app: &App, req: &Request) -> Result<String> {
    let schemas = app.schemas.current();
    match req.query_param("identity_schema").filter(|s| !s.is_empty()) {
        None => Ok(schemas.default_id().to_string()),
        Some(id) => {
            let schema = schemas.get(&id)?;
            if id != schemas.default_id() && !schema.selfservice_selectable() {
                return Err(ApiError::bad_request()
                    .with_reason(format!(
                        "The identity schema {id:?} is not selectable in self-service flows."
                    ))
                    .into());
            }
            Ok(id)
        }
    }
}

pub fn schema_document(app: &App, flow: &Flow) -> Result<Value> {
    let id = flow
        .data
        .identity_schema
        .clone()
        .unwrap_or_else(|| app.schemas.current().default_id().to_string());
    Ok(app.schemas.get(&id)?.document().clone())
}

async fn new_flow(app: &App, req: &Request, flow_type: FlowType) -> Result<(Flow, Vec<Cookie>)> {
    let cfg = app.config();
    if !cfg.selfservice.flows.registration.enabled {
        return Err(disabled().into());
    }
    if manager::token_from_request(app, req).is_some()
        && manager::from_request(app, req).await.is_ok()
    {
        return Err(already_logged_in().into());
    }
    let mut flow = Flow::new(
        app,
        FlowKind::Registration,
        flow_type,
        req,
        cfg.selfservice.flows.registration.lifespan,
    )?;
    flow.data.identity_schema = Some(schema_id(app, req)?);
    let schema = schema_document(app, &flow)?;
    let body = Value::Object(Default::default());
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: None,
    };
    for s in strategy::enabled(&cfg) {
        s.registration_form(&ctx, &mut flow, &schema).await?;
    }
    let cookies = csrf::protect_new_flow(app, req, &mut flow);
    sort(&mut flow, &schema);
    flows::insert(&app.db, &flow).await?;
    Ok((flow, cookies))
}

/// Kratos's order: CSRF, traits in schema order, then each method's fields.
pub fn sort(flow: &mut Flow, schema: &Value) {
    let mut keys = vec!["csrf_token".to_string()];
    keys.extend(crate::ui::schema::trait_keys(schema));
    keys.push("password".into());
    flow.ui.sort(
        &[
            Group::Default,
            Group::Profile,
            Group::Password,
            Group::Oidc,
            Group::Code,
            Group::Webauthn,
            Group::Passkey,
        ],
        &keys,
    );
}

async fn init_browser(app: App, req: Request) -> Result<Response> {
    let created = new_flow(&app, &req, FlowType::Browser).await;
    respond::new_browser_flow(&app, &req, created, &ui_url(&app), || {
        return_to::after_flow(&app, req.query_param("return_to").as_deref(), None)
    })
    .await
}

async fn init_api(app: App, req: Request) -> Result<Response> {
    let (flow, _) = new_flow(&app, &req, FlowType::Api).await?;
    Ok(response::ok(&flow.to_json(None)))
}

async fn get_flow(app: App, req: Request) -> Result<Response> {
    super::flow::fetch(&app, &req, FlowKind::Registration).await
}

async fn submit(app: App, req: Request) -> Result<Response> {
    let ui = ui_url(&app);
    let mut flow = match super::flow::submitted(&app, &req, FlowKind::Registration).await {
        Ok(f) => f,
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    if manager::token_from_request(&app, &req).is_some()
        && manager::from_request(&app, &req).await.is_ok()
    {
        if flow.flow_type == FlowType::Browser && !req.is_json_request() {
            return Ok(response::redirect(
                return_to::default_return_url(&app).as_str(),
            ));
        }
        return Err(already_logged_in().into());
    }
    if flow.is_expired() {
        let replacement = replace(&app, &req, &flow).await;
        return Ok(respond::expired(&app, &req, &flow, replacement, &ui).await);
    }
    let body = match req.form_or_json() {
        Ok(b) => b,
        Err(err) => {
            return Ok(respond::flow_error(&app, &req, Some(flow), Group::Default, err, &ui).await);
        }
    };
    let mut group = Group::Default;
    match submit_flow(&app, &req, &mut flow, &body, &mut group).await {
        Ok(res) => Ok(res),
        Err(err) => {
            if let Some(traits) = body.get("traits") {
                flow.ui
                    .update_values_from_json(traits, "traits", Group::Default);
            }
            Ok(respond::submit_error(&app, &req, flow, group, err, &ui).await)
        }
    }
}

async fn replace(app: &App, req: &Request, old: &Flow) -> Result<Flow> {
    let (mut flow, _) = new_flow(app, req, old.flow_type).await?;
    flow.data.identity_schema = old.data.identity_schema.clone();
    let expired_for = chrono::Utc::now() - old.expires_at;
    flow.replaces(
        old,
        crate::text::error_validation_registration_flow_expired(old.expires_at, expired_for),
    );
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), &flow).await?;
    Ok(flow)
}

async fn submit_flow(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    body: &Value,
    group: &mut Group,
) -> Result<Response> {
    super::flow::csrf::check_submission(app, req, flow, body)?;
    let cfg = app.config();
    let schema = schema_document(app, flow)?;
    let ctx = Ctx {
        app,
        req,
        body,
        session: None,
    };
    for s in strategy::enabled(&cfg) {
        *group = s.group();
        match s.register(&ctx, flow, &schema).await? {
            RegistrationOutcome::NotResponsible => continue,
            RegistrationOutcome::Continue => {
                sort(flow, &schema);
                let mut c = app.db.conn().await?;
                flows::update(c.conn(), flow).await?;
                // Kratos answers an intermediate step with the flow and a 400.
                return Ok(respond::send_flow(
                    req,
                    flow,
                    None,
                    http::StatusCode::BAD_REQUEST,
                    &ui_url(app),
                    &[],
                ));
            }
            RegistrationOutcome::Register(identity) => {
                flow.data.active = Some(s.id().to_string());
                return finish(app, req, flow, *identity, s.id()).await;
            }
        }
    }
    *group = Group::Default;
    Err(crate::error::FormErrors::global(
        crate::text::error_validation_registration_no_strategy_found(),
    )
    .into())
}

/// The hooks configured after registration with `method`: its own, then the flow-wide ones.
fn after_hooks(app: &App, method: &str) -> Vec<Hook> {
    let cfg = app.config();
    let after = &cfg.selfservice.flows.registration.after;
    let per_method = match method {
        "password" => &after.password.hooks,
        "webauthn" => &after.webauthn.hooks,
        "passkey" => &after.passkey.hooks,
        "oidc" => &after.oidc.hooks,
        "code" => &after.code.hooks,
        _ => &after.hooks,
    };
    let mut hooks = per_method.clone();
    if !std::ptr::eq(per_method, &after.hooks) {
        hooks.extend(after.hooks.iter().cloned());
    }
    hooks
}

fn return_url_after(app: &App, method: &str) -> Option<Url> {
    let cfg = app.config();
    let after = &cfg.selfservice.flows.registration.after;
    let per_method = match method {
        "password" => after.password.default_browser_return_url.as_ref(),
        "webauthn" => after.webauthn.default_browser_return_url.as_ref(),
        "passkey" => after.passkey.default_browser_return_url.as_ref(),
        "oidc" => after.oidc.default_browser_return_url.as_ref(),
        "code" => after.code.default_browser_return_url.as_ref(),
        _ => None,
    };
    per_method
        .or(after.default_browser_return_url.as_ref())
        .map(|u| absolute(app, u.as_str()))
}

/// Creates the identity, runs the post-registration hooks and answers for the flow's type.
async fn finish(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    mut identity: Identity,
    method: &str,
) -> Result<Response> {
    app.identities().create(&mut identity).await?;
    flow.state = "passed_challenge".into();
    let return_to = return_to::after_flow(
        app,
        flow.return_to.as_deref(),
        return_url_after(app, method),
    )?;
    let hooks = after_hooks(app, method);
    let browser_json = flow.is_browser() && req.is_json_request();
    // Verification messages for the new addresses, announced in `continue_with`.
    let verification =
        crate::selfservice::verification::send_for_identity(app, req, &identity, flow.flow_type)
            .await?;
    let show_verification_ui = hooks.iter().any(|h| matches!(h, Hook::ShowVerificationUi));
    let verification_redirect = verification
        .first()
        .and_then(|v| v.pointer("/flow/url"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|_| show_verification_ui);
    flow.data.continue_with.extend(verification);
    if browser_json {
        flow.data.continue_with.push(
            json!({ "action": "redirect_browser_to", "redirect_browser_to": return_to.as_str() }),
        );
    }

    let mut session = None;
    if hooks.iter().any(|h| matches!(h, Hook::Session)) {
        let kind = method
            .parse()
            .unwrap_or(crate::identity::CredentialsType::Password);
        let issued = manager::issue(
            app,
            &identity,
            vec![AuthenticationMethod {
                method: kind,
                aal: Aal::Aal1,
                completed_at: crate::persistence::now(),
                provider: String::new(),
                organization: String::new(),
            }],
            req,
            None,
        )
        .await?;
        if flow.flow_type == FlowType::Api {
            flow.data.continue_with.push(
                json!({ "action": "set_ory_session_token", "ory_session_token": issued.token }),
            );
        }
        session = Some(issued);
    }
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), flow).await?;
    drop(c);

    let identity_json = serde_json::to_value(identity.clone().public_view())?;
    let continue_with = json!(flow.data.continue_with);
    if flow.flow_type == FlowType::Api {
        let mut body = json!({ "identity": identity_json, "continue_with": continue_with });
        if let Some(s) = &session {
            body["session"] = serde_json::to_value(s.session.clone().for_client())?;
            body["session_token"] = json!(s.token);
        }
        return Ok(response::ok(&body));
    }
    let mut res = if browser_json {
        let mut body = json!({ "identity": identity_json, "continue_with": continue_with });
        if let Some(s) = &session {
            body["session"] = serde_json::to_value(s.session.clone().for_client())?;
        }
        response::ok(&body)
    } else {
        // `show_verification_ui` sends browsers to the verification UI instead.
        response::redirect(
            verification_redirect
                .as_deref()
                .unwrap_or(return_to.as_str()),
        )
    };
    if let Some(s) = &session {
        response::add_cookie(
            &mut res,
            &manager::session_cookie(app, &s.token, s.session.expires_at).to_header(),
        );
        if let (_, Some(cookie)) = csrf::regenerate(app) {
            response::add_cookie(&mut res, &cookie.to_header());
        }
    }
    Ok(res)
}
