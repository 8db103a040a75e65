//! The login flow: `/self-service/login/{browser,api}`, `/self-service/login/flows`,
//! `POST /self-service/login`.

use serde_json::{Value, json};
use url::Url;

use super::flow::{Flow, FlowKind, FlowType, csrf, respond, return_to};
use super::strategy::{self, Ctx, LoginOutcome};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::flows;
use crate::session::manager;
use crate::session::{Aal, Session};
use crate::ui::Group;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/login/browser", init_browser);
    r.get("/self-service/login/api", init_api);
    r.get("/self-service/login/flows", get_flow);
    r.post("/self-service/login", submit);
    r.get("/self-service/login", submit);
}

/// `selfservice.flows.login.ui_url`, absolute.
pub fn ui_url(app: &App) -> Url {
    let cfg = app.config();
    absolute(app, cfg.selfservice.flows.login.ui_url.as_str())
}

/// A configured URL; relative ones resolve against the public base URL.
pub fn absolute(app: &App, raw: &str) -> Url {
    Url::parse(raw).unwrap_or_else(|_| {
        app.config()
            .public_base_url()
            .join(raw)
            .unwrap_or_else(|_| app.config().public_base_url())
    })
}

pub fn already_logged_in() -> ApiError {
    ApiError::bad_request()
        .with_id("session_already_available")
        .with_reason("A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?")
}

fn requested_aal(req: &Request) -> Result<Aal> {
    match req.query_param("aal").as_deref() {
        None | Some("") | Some("aal1") => Ok(Aal::Aal1),
        Some("aal2") => Ok(Aal::Aal2),
        Some(other) => Err(ApiError::bad_request()
            .with_reason(format!("Unable to parse AuthenticationMethod Assurance Level (AAL): expected one of [aal1, aal2] but got {other}"))
            .into()),
    }
}

/// Creates and stores a login flow for the request. Returns the flow, or the caller's session
/// when it already satisfies the request (`session_already_available`).
pub async fn new_flow(
    app: &App,
    req: &Request,
    flow_type: FlowType,
) -> Result<(Flow, Vec<Cookie>)> {
    let cfg = app.config();
    let mut flow = Flow::new(
        app,
        FlowKind::Login,
        flow_type,
        req,
        cfg.selfservice.flows.login.lifespan,
    )?;
    flow.data.refresh = req.query_bool("refresh");
    let aal = requested_aal(req)?;
    flow.data.requested_aal = Some(aal);
    if let Some(schema) = req.query_param("identity_schema").filter(|s| !s.is_empty()) {
        flow.data.identity_schema = Some(schema);
    }

    let session = manager::optional_from_request(app, req).await?;
    match &session {
        None if aal > Aal::Aal1 => {
            return Err(ApiError::unauthorized()
                .with_id("session_aal1_required")
                .with_reason(
                    "You can not requested a higher AAL (AAL2/AAL3) without an active session.",
                )
                .into());
        }
        None => flow.data.refresh = false,
        Some(s)
            if !flow.data.refresh
                && (aal == Aal::Aal1 || aal <= s.authenticator_assurance_level) =>
        {
            return Err(already_logged_in().into());
        }
        Some(s) => flow.session_id = Some(s.id),
    }

    let body = Value::Object(Default::default());
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: session.as_ref(),
    };
    for s in strategy::enabled(&cfg) {
        s.login_form(&ctx, &mut flow).await?;
    }
    if flow.data.refresh {
        flow.ui.messages.push(crate::text::info_login_re_auth());
    }
    if let Some(s) = &session
        && aal > s.authenticator_assurance_level
    {
        flow.ui.messages.push(crate::text::info_login_mfa());
    }
    let cookies = csrf::protect_new_flow(app, req, &mut flow);
    sort(&mut flow);
    flows::insert(&app.db, &flow).await?;
    Ok((flow, cookies))
}

fn sort(flow: &mut Flow) {
    flow.ui.sort(
        &[
            Group::Default,
            Group::IdentifierFirst,
            Group::Profile,
            Group::Password,
            Group::Oidc,
            Group::Code,
            Group::Webauthn,
            Group::Passkey,
            Group::Totp,
            Group::LookupSecret,
        ],
        &["csrf_token".into(), "identifier".into(), "password".into()],
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
    super::flow::fetch(&app, &req, FlowKind::Login).await
}

async fn submit(app: App, req: Request) -> Result<Response> {
    let ui = ui_url(&app);
    let mut flow = match super::flow::submitted(&app, &req, FlowKind::Login).await {
        Ok(f) => f,
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    match submit_flow(&app, &req, &mut flow).await {
        Ok(res) => Ok(res),
        Err(Error::Api(api)) if api.id.as_deref() == Some("self_service_flow_expired") => {
            let replacement = replace(&app, &req, &flow).await;
            Ok(respond::expired(&app, &req, &flow, replacement, &ui).await)
        }
        Err(err) => {
            let group = flow
                .data
                .active
                .as_deref()
                .and_then(strategy::group_of)
                .unwrap_or(Group::Default);
            Ok(respond::flow_error(&app, &req, Some(flow), group, err, &ui).await)
        }
    }
}

/// A fresh flow replacing an expired one, carrying its request URL and an expiry message.
async fn replace(app: &App, req: &Request, old: &Flow) -> Result<Flow> {
    let (mut flow, _) = new_flow(app, req, old.flow_type).await?;
    let expired_for = chrono::Utc::now() - old.expires_at;
    flow.replaces(
        old,
        crate::text::error_validation_login_flow_expired(old.expires_at, expired_for),
    );
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), &flow).await?;
    Ok(flow)
}

async fn submit_flow(app: &App, req: &Request, flow: &mut Flow) -> Result<Response> {
    let body = req.form_or_json()?;
    let session = manager::optional_from_request(app, req).await?;
    let requested = flow.data.requested_aal.unwrap_or(Aal::Aal1);
    if let Some(s) = &session {
        if !flow.data.refresh && requested <= s.authenticator_assurance_level {
            if flow.flow_type == FlowType::Api || req.is_json_request() {
                return Err(already_logged_in().into());
            }
            return Ok(response::redirect(
                return_to::default_return_url(app).as_str(),
            ));
        }
    } else if requested > Aal::Aal1 {
        return Err(ApiError::unauthorized()
            .with_id("session_aal1_required")
            .with_reason(
                "You can not requested a higher AAL (AAL2/AAL3) without an active session.",
            )
            .into());
    }
    if flow.is_expired() {
        return Err(flow.expired_error(uuid::Uuid::nil()).into());
    }
    csrf::check_submission(app, req, flow, &body)?;

    let cfg = app.config();
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: session.as_ref(),
    };
    for s in strategy::enabled(&cfg) {
        if ctx.method() != Some(s.id()) {
            continue;
        }
        flow.data.active = Some(s.id().to_string());
        match s.login(&ctx, flow).await? {
            LoginOutcome::NotResponsible => continue,
            LoginOutcome::Authenticated { identity, method } => {
                return finish(app, req, flow, *identity, method, session).await;
            }
        }
    }
    Err(
        crate::error::FormErrors::global(crate::text::error_validation_login_no_strategy_found())
            .into(),
    )
}

/// The hooks configured after a login with `method`: its own, then the flow-wide ones.
fn login_hooks(cfg: &crate::config::Config, method: &str) -> Vec<crate::config::Hook> {
    let after = &cfg.selfservice.flows.login.after;
    let per_method = match method {
        "password" => &after.password.hooks,
        "webauthn" => &after.webauthn.hooks,
        "passkey" => &after.passkey.hooks,
        "oidc" => &after.oidc.hooks,
        "code" => &after.code.hooks,
        "totp" => &after.totp.hooks,
        "lookup_secret" => &after.lookup_secret.hooks,
        _ => &after.hooks,
    };
    let mut hooks = per_method.clone();
    if !std::ptr::eq(per_method, &after.hooks) {
        hooks.extend(after.hooks.iter().cloned());
    }
    hooks
}

/// The `require_verified_address` hook: login needs at least one verified address.
fn require_verified_address(identity: &crate::identity::Identity) -> Result<()> {
    if identity.verifiable_addresses.is_empty() {
        return Err(ApiError::internal()
            .with_reason("A misconfiguration prevents login. Expected to find a verification address but this identity does not have one assigned.")
            .into());
    }
    if identity.verifiable_addresses.iter().any(|a| a.verified) {
        return Ok(());
    }
    Err(
        crate::error::FormErrors::global(crate::text::error_validation_address_not_verified())
            .into(),
    )
}

/// Completes a login: issues or upgrades the session and answers for the flow's type.
async fn finish(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    identity: crate::identity::Identity,
    method: crate::session::AuthenticationMethod,
    existing: Option<Session>,
) -> Result<Response> {
    if !identity.is_active() {
        // Kratos's `ErrIdentityDisabled` (raised when activating the session).
        return Err(ApiError::unauthorized()
            .with_reason("This account was disabled.")
            .with_detail("identity_id", identity.id.to_string())
            .into());
    }
    let cfg = app.config();
    if login_hooks(&cfg, method.method.as_str())
        .iter()
        .any(|h| matches!(h, crate::config::Hook::RequireVerifiedAddress))
    {
        require_verified_address(&identity)?;
    }
    let flow_default = cfg
        .selfservice
        .flows
        .login
        .after
        .default_browser_return_url
        .as_ref()
        .map(|u| absolute(app, u.as_str()));
    let return_to = return_to::after_flow(app, flow.return_to.as_deref(), flow_default)?;

    flow.state = "passed_challenge".into();
    // Refresh and second-factor logins upgrade the caller's session; anything else starts anew.
    let (session, token) = match existing.filter(|s| s.identity_id == identity.id) {
        Some(mut s) => {
            s.completed_login_for(method.method, method.aal);
            s.authenticated_at = crate::persistence::now();
            let lifespan = chrono::Duration::from_std(cfg.session.lifespan)
                .unwrap_or(chrono::Duration::days(1));
            s.expires_at = crate::persistence::now() + lifespan;
            let mut c = app.db.conn().await?;
            crate::persistence::sessions::update(c.conn(), &s).await?;
            app.session_cache.invalidate_session(s.id);
            s.identity = Some(identity.clone());
            flows::update(c.conn(), flow).await?;
            let token = manager::token_from_request(app, req).unwrap_or_default();
            (s, token)
        }
        None => {
            // The session and the flow's completion are stored together.
            let issued = manager::issue(app, &identity, vec![method], req, Some(flow)).await?;
            (issued.session, issued.token)
        }
    };

    if flow.flow_type == FlowType::Api {
        let mut body = json!({ "session": session.clone().for_client(), "session_token": token });
        if !flow.data.continue_with.is_empty() {
            body["continue_with"] = json!(flow.data.continue_with);
        }
        return Ok(response::ok(&body));
    }

    let mut res = if req.is_json_request() {
        let mut continue_with = flow.data.continue_with.clone();
        continue_with.push(
            json!({ "action": "redirect_browser_to", "redirect_browser_to": return_to.as_str() }),
        );
        response::ok(
            &json!({ "session": session.clone().for_client(), "continue_with": continue_with }),
        )
    } else if req.accepts_json() {
        response::ok(&session.clone().for_client())
    } else {
        response::redirect(return_to.as_str())
    };
    response::add_cookie(
        &mut res,
        &manager::session_cookie(app, &token, session.expires_at).to_header(),
    );
    // A new login rotates the CSRF token, as Kratos does.
    if let (_, Some(cookie)) = csrf::regenerate(app) {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(res)
}
