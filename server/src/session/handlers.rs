//! Session endpoints: whoami and the caller's own sessions (public), session administration (admin).

use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::manager;
use super::model::Session;
use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::identities::{self, Expand};
use crate::persistence::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, finish_page};
use crate::persistence::sessions::{self, SessionFilter};

pub fn register_public(r: &mut RouterBuilder) {
    r.any(
        &[
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ],
        "/sessions/whoami",
        whoami,
    );
    r.get("/sessions", list_my_sessions);
    r.delete("/sessions", delete_my_sessions);
    r.delete("/sessions/{id}", delete_my_session);
}

pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/sessions", admin_list);
    r.get("/admin/sessions/{id}", admin_get);
    r.delete("/admin/sessions/{id}", admin_disable);
    r.patch("/admin/sessions/{id}/extend", admin_extend);
    r.get(
        "/admin/identities/{id}/sessions",
        admin_list_identity_sessions,
    );
    r.delete(
        "/admin/identities/{id}/sessions",
        admin_delete_identity_sessions,
    );
}

/// `GET /sessions/whoami`: the session of the request, or 401.
async fn whoami(app: App, req: Request) -> Result<Response> {
    let credential =
        manager::credential_from_request(&app, &req).ok_or_else(manager::no_active_session)?;
    let cached = manager::whoami_session(&app, credential.token())
        .await?
        .ok_or_else(manager::no_active_session)?;
    let session = &cached.session;
    let required = app.config().session.whoami.required_aal;
    manager::check_aal(&app, session, required, None)?;
    let mut res = response::raw_json(StatusCode::OK, cached.body.clone());
    res.headers_mut().insert(
        "x-kratos-authenticated-identity-id",
        cached.identity_header.clone(),
    );
    // As Kratos: the cookie is issued again only when it was issued for an earlier expiry (the
    // session was extended since), not on every call.
    if credential.cookie_outdated(session.expires_at) {
        response::add_cookie(
            &mut res,
            &manager::session_cookie(&app, credential.token(), session.expires_at).to_header(),
        );
    }
    Ok(res)
}

fn expand_param(req: &Request) -> Result<(bool, bool)> {
    let mut identity = false;
    let mut devices = false;
    for e in req.query_params("expand") {
        match e.as_str() {
            "identity" => identity = true,
            "devices" => devices = true,
            other => {
                return Err(ApiError::bad_request()
                    .with_reason(format!("Could not parse expand option: {other}"))
                    .into());
            }
        }
    }
    Ok((identity, devices))
}

fn active_param(req: &Request) -> Result<Option<bool>> {
    match req.query_param("active").as_deref() {
        None | Some("") => Ok(None),
        Some("true" | "1" | "t" | "TRUE" | "True") => Ok(Some(true)),
        Some("false" | "0" | "f" | "FALSE" | "False") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request()
            .with_reason("could not parse parameter active")
            .into()),
    }
}

async fn page_of_sessions(
    app: &App,
    req: &Request,
    mut filter: SessionFilter,
) -> Result<(Vec<Session>, String)> {
    let tokens = app.page_tokens();
    let page = tokens.parse(req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    filter.after = match &page.after {
        Some(Value::String(s)) => Some(crate::http::request::parse_uuid(s, "page_token")?),
        _ => None,
    };
    filter.limit = page.size + 1;
    let mut c = app.db.conn().await?;
    let rows = sessions::list(c.conn(), &filter).await?;
    let (rows, next) = finish_page(rows, page.size, |s| json!(s.id.to_string()));
    let link = tokens.link_header(req, page.size, next.as_ref());
    Ok((rows, link))
}

fn with_link(mut res: Response, link: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(link) {
        res.headers_mut().insert(http::header::LINK, v);
    }
    res
}

/// `GET /sessions`: the caller's other active sessions.
async fn list_my_sessions(app: App, req: Request) -> Result<Response> {
    let current = manager::from_request(&app, &req).await?;
    let filter = SessionFilter {
        identity_id: Some(current.identity_id),
        active: Some(true),
        except: Some(current.id),
        ..Default::default()
    };
    let (mut list, link) = page_of_sessions(&app, &req, filter).await?;
    // Kratos expands the identity on every listed session.
    attach_identities(&app, &mut list).await?;
    let list: Vec<Session> = list.into_iter().map(Session::for_client).collect();
    Ok(with_link(response::ok(&list), &link))
}

/// `DELETE /sessions`: revokes all of the caller's other sessions.
async fn delete_my_sessions(app: App, req: Request) -> Result<Response> {
    let current = manager::from_request(&app, &req).await?;
    let count =
        manager::revoke_all_of_identity(&app, current.identity_id, Some(current.id)).await?;
    Ok(response::ok(&json!({ "count": count })))
}

/// `DELETE /sessions/{id}`: revokes one of the caller's other sessions.
async fn delete_my_session(app: App, req: Request) -> Result<Response> {
    let id = req.uuid_param("id")?;
    let current = manager::from_request(&app, &req).await?;
    if id == current.id {
        return Err(ApiError::bad_request()
            .with_reason("You tried to revoke the current session. Use the logout flow instead.")
            .into());
    }
    let mut c = app.db.conn().await?;
    let revoked = sessions::revoke_for_identity(c.conn(), current.identity_id, id).await?;
    app.session_cache.invalidate_session(id);
    if !revoked {
        return Err(ApiError::not_found()
            .with_reason("Unable to locate the resource")
            .into());
    }
    Ok(response::no_content())
}

async fn attach_identities(app: &App, list: &mut [Session]) -> Result<()> {
    let mut c = app.db.conn().await?;
    for s in list.iter_mut() {
        s.identity = identities::find(c.conn(), s.identity_id, Expand::ADDRESSES).await?;
    }
    Ok(())
}

fn admin_view(mut s: Session, devices: bool) -> Session {
    if !devices {
        s.devices.clear();
    }
    s.for_client()
}

/// `GET /admin/sessions`.
async fn admin_list(app: App, req: Request) -> Result<Response> {
    let (with_identity, with_devices) = expand_param(&req)?;
    let filter = SessionFilter {
        active: active_param(&req)?,
        ..Default::default()
    };
    let (mut list, link) = page_of_sessions(&app, &req, filter).await?;
    if with_identity {
        attach_identities(&app, &mut list).await?;
    }
    let list: Vec<Session> = list
        .into_iter()
        .map(|s| admin_view(s, with_devices))
        .collect();
    Ok(with_link(response::ok(&list), &link))
}

/// `GET /admin/sessions/{id}`.
async fn admin_get(app: App, req: Request) -> Result<Response> {
    let id = req.uuid_param("id")?;
    let (with_identity, with_devices) = expand_param(&req)?;
    let mut c = app.db.conn().await?;
    let mut session = sessions::get(c.conn(), id).await?;
    if with_identity {
        session.identity =
            identities::find(c.conn(), session.identity_id, Expand::ADDRESSES).await?;
    }
    Ok(response::ok(&admin_view(session, with_devices)))
}

/// `DELETE /admin/sessions/{id}`: deactivates the session.
async fn admin_disable(app: App, req: Request) -> Result<Response> {
    let id = req.uuid_param("id")?;
    let mut c = app.db.conn().await?;
    let revoked = sessions::revoke(c.conn(), id).await?;
    app.session_cache.invalidate_session(id);
    if !revoked {
        return Err(ApiError::not_found()
            .with_reason("Unable to locate the resource")
            .into());
    }
    Ok(response::no_content())
}

/// `PATCH /admin/sessions/{id}/extend`: extends an active session by the configured lifespan,
/// if `earliest_possible_extend` allows it now.
async fn admin_extend(app: App, req: Request) -> Result<Response> {
    let id = req.uuid_param("id")?;
    let mut c = app.db.conn().await?;
    let mut session = sessions::get(c.conn(), id).await?;
    if !session.is_active() {
        return Err(ApiError::not_found()
            .with_reason("Unable to locate the resource")
            .into());
    }
    if manager::can_be_extended(&app, &session) {
        let lifespan = chrono::Duration::from_std(app.config().session.lifespan)
            .unwrap_or(chrono::Duration::days(1));
        session.expires_at = crate::persistence::now() + lifespan;
        sessions::set_expiry(c.conn(), id, session.expires_at).await?;
        app.session_cache.invalidate_session(id);
    }
    Ok(response::ok(&session.for_client()))
}

/// `GET /admin/identities/{id}/sessions`.
async fn admin_list_identity_sessions(app: App, req: Request) -> Result<Response> {
    let identity_id = req.uuid_param("id")?;
    ensure_identity(&app, identity_id).await?;
    let filter = SessionFilter {
        identity_id: Some(identity_id),
        active: active_param(&req)?,
        ..Default::default()
    };
    let (mut list, link) = page_of_sessions(&app, &req, filter).await?;
    // Kratos expands the identity on every listed session.
    attach_identities(&app, &mut list).await?;
    let list: Vec<Session> = list.into_iter().map(Session::for_client).collect();
    Ok(with_link(response::ok(&list), &link))
}

/// `DELETE /admin/identities/{id}/sessions`: deletes every session of the identity.
async fn admin_delete_identity_sessions(app: App, req: Request) -> Result<Response> {
    let identity_id = req.uuid_param("id")?;
    ensure_identity(&app, identity_id).await?;
    let mut c = app.db.conn().await?;
    sessions::delete_all_of_identity(c.conn(), identity_id).await?;
    app.session_cache.invalidate_identity(identity_id);
    Ok(response::empty(StatusCode::NO_CONTENT))
}

async fn ensure_identity(app: &App, id: Uuid) -> Result<()> {
    let mut c = app.db.conn().await?;
    identities::get(c.conn(), id, Expand::NOTHING)
        .await
        .map(|_| ())
}
