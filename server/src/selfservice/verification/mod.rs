//! The verification flow: `/self-service/verification/{browser,api}`,
//! `/self-service/verification/flows`, `POST /self-service/verification` (and `GET` for links).
//!
//! The method is the one in `selfservice.flows.verification.use` (`code` or `link`). Besides the
//! self-service flow, registration and settings start a verification flow for every pending
//! address ([`send_for_identity`]) and announce it with `show_verification_ui` in
//! `continue_with`.

use serde_json::{Value, json};
use url::Url;

use super::flow::{Flow, FlowKind, FlowType, csrf, respond};
use super::login::absolute;
use super::strategy::{self, Ctx, OneTimeOutcome, Strategy};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, RouterBuilder, response};
use crate::identity::Identity;
use crate::identity::model::VerifiableAddressStatus;
use crate::persistence::flows;
use crate::persistence::one_time::OneTimeSecret;
use crate::text::Message;
use crate::ui::{Container, Group, Node};

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/verification/browser", init_browser);
    r.get("/self-service/verification/api", init_api);
    r.get("/self-service/verification/flows", get_flow);
    r.post("/self-service/verification", submit);
    r.get("/self-service/verification", submit);
}

pub fn ui_url(app: &App) -> Url {
    absolute(
        app,
        app.config().selfservice.flows.verification.ui_url.as_str(),
    )
}

/// `<public>/self-service/verification`, where links in messages point.
pub fn submit_url(app: &App) -> Url {
    let mut url = app.config().public_base_url();
    url.set_path(&format!(
        "{}/self-service/verification",
        url.path().trim_end_matches('/')
    ));
    url
}

fn disabled() -> ApiError {
    ApiError::bad_request().with_reason("Verification is not allowed because it was disabled.")
}

/// The method verification uses (`selfservice.flows.verification.use`), if enabled.
pub fn method_in_use(app: &App) -> Result<&'static dyn Strategy> {
    let cfg = app.config();
    strategy::in_use(
        &cfg,
        cfg.selfservice.flows.verification.r#use,
        "verification",
    )
}

fn method_of(app: &App, flow: &Flow) -> Result<&'static dyn Strategy> {
    let not_found = crate::text::error_validation_verification_no_strategy_found();
    strategy::of_flow(&app.config(), flow, not_found)
}

/// A new verification flow with the method's first screen, not yet stored.
async fn build_flow(
    app: &App,
    req: &Request,
    flow_type: FlowType,
    method: &dyn Strategy,
) -> Result<(Flow, Vec<Cookie>)> {
    let cfg = app.config();
    let mut flow = Flow::new(
        app,
        FlowKind::Verification,
        flow_type,
        req,
        cfg.selfservice.flows.verification.lifespan,
    )?;
    flow.data.active = Some(method.id().to_string());
    let cookies = csrf::protect_new_flow(app, req, &mut flow);
    let body = Value::Object(Default::default());
    let ctx = Ctx {
        app,
        req,
        body: &body,
        session: None,
    };
    method.verification_form(&ctx, &mut flow).await?;
    Ok((flow, cookies))
}

async fn new_flow(app: &App, req: &Request, flow_type: FlowType) -> Result<(Flow, Vec<Cookie>)> {
    if !app.config().selfservice.flows.verification.enabled {
        return Err(disabled().into());
    }
    let (flow, cookies) = build_flow(app, req, flow_type, method_in_use(app)?).await?;
    flows::insert(&app.db, &flow).await?;
    Ok((flow, cookies))
}

async fn init_browser(app: App, req: Request) -> Result<Response> {
    let created = new_flow(&app, &req, FlowType::Browser).await;
    // Verification works with or without a session, so `signed_in_to` is never asked for.
    respond::new_browser_flow(&app, &req, created, &ui_url(&app), || {
        Ok(super::flow::return_to::default_return_url(&app))
    })
    .await
}

async fn init_api(app: App, req: Request) -> Result<Response> {
    let (flow, _) = new_flow(&app, &req, FlowType::Api).await?;
    Ok(response::ok(&flow.to_json(None)))
}

async fn get_flow(app: App, req: Request) -> Result<Response> {
    if !app.config().selfservice.flows.verification.enabled {
        return Err(disabled().into());
    }
    super::flow::fetch(&app, &req, FlowKind::Verification).await
}

async fn submit(app: App, req: Request) -> Result<Response> {
    let ui = ui_url(&app);
    if !app.config().selfservice.flows.verification.enabled {
        return Ok(respond::forward(&app, &req, None, disabled().into()).await);
    }
    let mut flow = match super::flow::submitted(&app, &req, FlowKind::Verification).await {
        Ok(f) => f,
        Err(err) => return Ok(respond::forward(&app, &req, None, err).await),
    };
    if flow.is_expired() {
        let message = crate::text::error_validation_verification_flow_expired(
            flow.expires_at,
            chrono::Utc::now() - flow.expires_at,
        );
        let replacement = replacement(&app, &req, &flow, message).await;
        return Ok(respond::expired(&app, &req, &flow, replacement, &ui).await);
    }
    let body = match super::recovery::submission_body(&req) {
        Ok(b) => b,
        Err(err) => {
            return Ok(respond::flow_error(&app, &req, Some(flow), Group::Default, err, &ui).await);
        }
    };
    let group = strategy::one_time_group(&flow);
    match submit_flow(&app, &req, &mut flow, &body).await {
        Ok(res) => Ok(res),
        Err(err) => {
            let email = body
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if flow.state == "choose_method"
                && let Some(node) = flow.ui.node_mut("email")
            {
                *node = node.clone().with_value(email);
            }
            Ok(respond::submit_error(&app, &req, flow, group, err, &ui).await)
        }
    }
}

async fn submit_flow(app: &App, req: &Request, flow: &mut Flow, body: &Value) -> Result<Response> {
    strategy::keep_transient_payload(flow, body);
    let ctx = Ctx {
        app,
        req,
        body,
        session: None,
    };
    let outcome = method_of(app, flow)?.verify(&ctx, flow).await?;
    let no_strategy = crate::text::error_validation_verification_no_strategy_found();
    // Links are clicked in a browser, so `GET` submissions go back to the UI too.
    outcome
        .answer(app, flow, no_strategy, |flow| {
            if req.method == http::Method::GET || (flow.is_browser() && !req.is_json_request()) {
                response::redirect(&flow.ui_url(&ui_url(app)))
            } else {
                response::ok(&flow.to_json(None))
            }
        })
        .await
}

async fn replacement(app: &App, req: &Request, old: &Flow, message: Message) -> Result<Flow> {
    let (mut flow, _) = build_flow(app, req, old.flow_type, method_of(app, old)?).await?;
    flow.replaces(old, message);
    flows::insert(&app.db, &flow).await?;
    Ok(flow)
}

/// Abandons `old` for a new flow showing `message`: browsers go to the new flow's UI, JSON
/// clients get Kratos's 410 `self_service_flow_replaced` pointing at it.
pub async fn retry(
    app: &App,
    req: &Request,
    old: &Flow,
    message: Message,
) -> Result<OneTimeOutcome> {
    let flow = replacement(app, req, old, message).await?;
    if req.method != http::Method::GET && (req.is_json_request() || flow.flow_type == FlowType::Api)
    {
        let err = ApiError::gone()
            .with_id("self_service_flow_replaced")
            .with_message("self-service flow replaced")
            .with_reason("An error occured, please use the new flow.")
            .with_envelope("use_flow_id", json!(flow.id));
        return Ok(OneTimeOutcome::Respond(response::render_error(
            &err.into(),
            req.request_id.as_deref(),
        )));
    }
    let mut res = response::redirect(&flow.ui_url(&ui_url(app)));
    if let (_, Some(cookie)) = csrf::ensure_token(app, req) {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(OneTimeOutcome::Respond(res))
}

/// A flow opened from a message: it may be in another browser than the one that started it, so
/// it gets this browser's CSRF token, is stored, and is shown in the UI.
pub async fn show_in_browser(app: &App, req: &Request, flow: &mut Flow) -> Result<Response> {
    let (raw, cookie) = csrf::ensure_token(app, req);
    flow.csrf_token = csrf::mask(&raw);
    flow.ui.set_csrf(&flow.csrf_token.clone());
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), flow).await?;
    let mut res = response::redirect(&flow.ui_url(&ui_url(app)));
    if let Some(cookie) = cookie {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(res)
}

/// Where a verified user continues: the flow's `return_to`, the verification flow's
/// `after.default_browser_return_url`, or the global default.
fn continue_url(app: &App, flow: &Flow) -> String {
    let cfg = app.config();
    let default = cfg
        .selfservice
        .flows
        .verification
        .after
        .default_browser_return_url
        .as_ref()
        .map(|u| absolute(app, u.as_str()));
    super::flow::return_to::after_flow(app, flow.return_to.as_deref(), default)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| super::flow::return_to::default_return_url(app).to_string())
}

/// A secret was accepted: the address is verified and the flow shows success with a link on.
pub async fn complete(
    app: &App,
    req: &Request,
    flow: &mut Flow,
    secret: &OneTimeSecret,
    group: Group,
) -> Result<()> {
    let (Some(identity_id), Some(via), Some(value)) = (
        secret.identity_id,
        secret.address_via.as_deref(),
        secret.address_value.as_deref(),
    ) else {
        return Err(Error::internal("verification secret without address"));
    };
    {
        let mut c = app.db.conn().await?;
        crate::persistence::one_time::mark_address_verified(c.conn(), identity_id, via, value)
            .await?;
    }
    let to = continue_url(app, flow);
    let mut ui = Container::new(to.clone());
    ui.method = "GET".into();
    flow.state = "passed_challenge".into();
    if flow.is_browser() {
        let (raw, _) = csrf::ensure_token(app, req);
        flow.csrf_token = csrf::mask(&raw);
    }
    ui.messages
        .push(crate::text::info_self_service_verification_successful());
    ui.nodes.push(
        Node::anchor(
            "continue",
            to,
            crate::text::info_node_label_continue(),
            group,
        )
        .with_label(crate::text::info_node_label_continue()),
    );
    flow.ui = ui;
    Ok(())
}

/// Starts a verification flow of `flow_type` for every pending address of `identity` and sends
/// its message; returns the `show_verification_ui` items for `continue_with`. Nothing happens
/// when verification is disabled.
pub async fn send_for_identity(
    app: &App,
    req: &Request,
    identity: &Identity,
    flow_type: FlowType,
) -> Result<Vec<Value>> {
    let cfg = app.config();
    if !cfg.selfservice.flows.verification.enabled {
        return Ok(vec![]);
    }
    // A misconfigured method must not undo a registration or settings change that succeeded.
    let method = match method_in_use(app) {
        Ok(m) => m,
        Err(err) => {
            tracing::warn!(error = %err, "no verification message sent");
            return Ok(vec![]);
        }
    };
    let mut items = Vec::new();
    for address in &identity.verifiable_addresses {
        if address.verified
            || address.status != VerifiableAddressStatus::Pending
            || address.via != "email"
        {
            continue;
        }
        let (mut flow, _) = build_flow(app, req, flow_type, method).await?;
        flows::insert(&app.db, &flow).await?;
        method
            .send_verification(app, &mut flow, &address.value)
            .await?;
        let mut c = app.db.conn().await?;
        flows::update(c.conn(), &flow).await?;
        items.push(json!({
            "action": "show_verification_ui",
            "flow": {
                "id": flow.id,
                "verifiable_address": address.value,
                "url": flow.ui_url(&ui_url(app)),
            },
        }));
    }
    Ok(items)
}
