//! How flows answer, in one place: flows go to browsers as redirects to the UI and to everyone
//! else as JSON; errors become form messages, replacement flows, or the error UI, as in Kratos.

use http::StatusCode;
use serde_json::Value;
use url::Url;

use super::{Flow, FlowType};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::http::cookie::Cookie;
use crate::http::{Request, Response, response};
use crate::identity::Identity;
use crate::persistence::flows;
use crate::ui::Group;

/// Whether the client gets JSON: API flows always, browser flows when they ask for it (SPAs).
pub fn wants_json(req: &Request, flow_type: FlowType) -> bool {
    flow_type == FlowType::Api || req.is_json_request()
}

/// Sends a flow: a 303 to `<ui_url>?flow=<id>` for browsers, else the flow as JSON with `status`.
pub fn send_flow(
    req: &Request,
    flow: &Flow,
    identity: Option<&Identity>,
    status: StatusCode,
    ui_url: &Url,
    cookies: &[Cookie],
) -> Response {
    let mut res = if flow.is_browser() && !req.is_json_request() {
        response::redirect(&flow.ui_url(ui_url))
    } else {
        response::json(status, &flow.to_json(identity))
    };
    for c in cookies {
        response::add_cookie(&mut res, &c.to_header());
    }
    res
}

/// A flow just created by an init endpoint: browsers are redirected unless they negotiate JSON
/// (Kratos uses `Accept` here, not the content type).
pub fn send_new_flow(
    req: &Request,
    flow: &Flow,
    identity: Option<&Identity>,
    ui_url: &Url,
    cookies: &[Cookie],
) -> Response {
    let mut res = if flow.is_browser() && !req.accepts_json() {
        response::redirect(&flow.ui_url(ui_url))
    } else {
        response::ok(&flow.to_json(identity))
    };
    for c in cookies {
        response::add_cookie(&mut res, &c.to_header());
    }
    res
}

/// A finished browser flow: redirect, or for SPAs a 422 `browser_location_change_required`
/// carrying the destination, as Kratos does.
pub fn browser_redirect_or_json(req: &Request, to: &str, json_body: Option<&Value>) -> Response {
    if req.accepts_json() || req.is_json_request() {
        match json_body {
            Some(body) => response::ok(body),
            None => response::render_error(
                &location_change_required(to).into(),
                req.request_id.as_deref(),
            ),
        }
    } else {
        response::redirect(to)
    }
}

pub fn location_change_required(to: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY)
        .with_id("browser_location_change_required")
        .with_message("browser location change required")
        .with_reason(format!(
            "In order to complete this flow please redirect the browser to: {to}"
        ))
        .with_envelope("redirect_browser_to", to)
}

/// The answer of a browser init endpoint: the new flow; for a caller who already has a session,
/// the error as JSON if asked for, else a redirect to `signed_in_to()`; any other error as
/// [`forward`] renders it.
pub async fn new_browser_flow(
    app: &App,
    req: &Request,
    created: Result<(Flow, Vec<Cookie>)>,
    ui_url: &Url,
    signed_in_to: impl FnOnce() -> Result<Url>,
) -> Result<Response> {
    match created {
        Ok((flow, cookies)) => Ok(send_new_flow(req, &flow, None, ui_url, &cookies)),
        Err(Error::Api(api)) if api.id.as_deref() == Some("session_already_available") => {
            let to = signed_in_to()?;
            Ok(if req.accepts_json() {
                response::render_error(&Error::Api(api), req.request_id.as_deref())
            } else {
                response::redirect(to.as_str())
            })
        }
        Err(err) => Ok(forward(app, req, None, err).await),
    }
}

/// A submission to an expired flow: a 410 with `use_flow_id` pointing at `replacement`, or for
/// browsers a redirect to it; if no replacement could be made, that error.
pub async fn expired(
    app: &App,
    req: &Request,
    flow: &Flow,
    replacement: Result<Flow>,
    ui_url: &Url,
) -> Response {
    match replacement {
        Ok(new_flow) if wants_json(req, flow.flow_type) => response::render_error(
            &flow.expired_error(new_flow.id).into(),
            req.request_id.as_deref(),
        ),
        Ok(new_flow) => response::redirect(&new_flow.ui_url(ui_url)),
        Err(err) => forward(app, req, Some(flow), err).await,
    }
}

/// [`flow_error`] for a failed submission whose form is shown again: a browser flow gets this
/// browser's CSRF token so the form can be resent.
pub async fn submit_error(
    app: &App,
    req: &Request,
    mut flow: Flow,
    group: Group,
    err: Error,
    ui_url: &Url,
) -> Response {
    if flow.is_browser() {
        let (raw, _) = super::csrf::ensure_token(app, req);
        flow.ui.set_csrf(&super::csrf::mask(&raw));
    }
    flow_error(app, req, Some(flow), group, err, ui_url).await
}

/// Renders an error that happened while handling `flow` (or before one was loaded), Kratos-style:
/// - form messages and 400s become messages in the flow's UI, which is stored and re-sent (400);
/// - anything else goes to the error UI (browsers) or is returned as a JSON error.
pub async fn flow_error(
    app: &App,
    req: &Request,
    flow: Option<Flow>,
    group: Group,
    err: Error,
    ui_url: &Url,
) -> Response {
    let Some(mut flow) = flow else {
        return forward(app, req, None, err).await;
    };
    let status = match &err {
        Error::Form(form) => {
            flow.ui.reset_messages();
            for m in &form.messages {
                flow.ui
                    .add_message(group, m.message.clone(), m.field.as_deref());
            }
            StatusCode::BAD_REQUEST
        }
        // Invalid traits: each problem on its field, as Kratos's `ParseError` does.
        Error::Validation(errors) => {
            flow.ui.reset_messages();
            for e in errors.iter() {
                let field = e.field();
                flow.ui
                    .add_message(group, e.violation.ui_message(), Some(field.as_str()));
            }
            StatusCode::BAD_REQUEST
        }
        // A taken identifier: one form-wide message, with sign-in hints when known.
        Error::DuplicateCredentials(dup) => {
            flow.ui.reset_messages();
            let message = if dup.available_credential_types.is_empty()
                && dup.available_oidc_providers.is_empty()
            {
                crate::text::error_validation_duplicate_credentials()
            } else {
                crate::text::error_validation_duplicate_credentials_with_hints(
                    &dup.available_credential_types,
                    &dup.available_oidc_providers,
                    &dup.identifier_hint,
                )
            };
            flow.ui.add_message(group, message, None);
            StatusCode::BAD_REQUEST
        }
        Error::Api(api) if api.code == 400 => {
            flow.ui.reset_messages();
            let reason = api.reason.clone().unwrap_or_else(|| api.message.clone());
            flow.ui
                .add_message(group, crate::text::validation_error_generic(&reason), None);
            StatusCode::BAD_REQUEST
        }
        _ => return forward(app, req, Some(&flow), err).await,
    };
    flow.ui.reset_values(&["password"]);
    if let Err(e) = save(app, &flow).await {
        return forward(app, req, Some(&flow), e).await;
    }
    if flow.is_browser() && !req.is_json_request() {
        return response::redirect(&flow.ui_url(ui_url));
    }
    let identity = match flow.identity_id {
        Some(id) => load_identity(app, id).await,
        None => None,
    };
    response::json(status, &flow.to_json(identity.as_ref()))
}

async fn load_identity(app: &App, id: uuid::Uuid) -> Option<Identity> {
    let mut c = app.db.conn().await.ok()?;
    crate::persistence::identities::find(
        c.conn(),
        id,
        crate::persistence::identities::Expand::ADDRESSES,
    )
    .await
    .ok()
    .flatten()
}

async fn save(app: &App, flow: &Flow) -> Result<()> {
    let mut c = app.db.conn().await?;
    flows::update(c.conn(), flow).await
}

/// Errors that do not belong in a form: JSON for API flows and AJAX, the error UI for browsers.
pub async fn forward(app: &App, req: &Request, flow: Option<&Flow>, err: Error) -> Response {
    let json = match flow {
        Some(f) if f.flow_type == FlowType::Api => true,
        _ => req.is_json_request(),
    };
    if json {
        return response::render_error(&err, req.request_id.as_deref());
    }
    match crate::selfservice::errors::store(app, req, &err).await {
        Ok(id) => {
            if req.accepts_json() {
                return response::render_error(&err, req.request_id.as_deref());
            }
            let mut url = crate::selfservice::errors::ui_url(app);
            url.query_pairs_mut().append_pair("id", &id.to_string());
            response::redirect(url.as_str())
        }
        Err(store_err) => {
            tracing::error!(error = %store_err, "could not store the self-service error");
            response::render_error(&err, req.request_id.as_deref())
        }
    }
}
