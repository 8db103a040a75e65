//! Logout: `GET /self-service/logout/browser` hands out the logout URL of the caller's session,
//! `GET /self-service/logout?token=` performs it, `DELETE /self-service/logout/api` revokes a
//! session token.

use serde_json::{Value, json};

use super::flow::{csrf, return_to};
use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::session::manager;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/logout/browser", create_browser_logout);
    r.get("/self-service/logout", logout);
    r.delete("/self-service/logout/api", logout_api);
}

fn after_logout_default(app: &App) -> url::Url {
    let cfg = app.config();
    match &cfg
        .selfservice
        .flows
        .logout
        .after
        .default_browser_return_url
    {
        Some(u) => super::login::absolute(app, u.as_str()),
        None => return_to::default_return_url(app),
    }
}

/// `GET /self-service/logout/browser`: `{logout_url, logout_token}` for the session cookie.
async fn create_browser_logout(app: App, req: Request) -> Result<Response> {
    let session = match manager::from_request(&app, &req).await {
        Ok(s) => s,
        Err(err) => return Ok(super::flow::respond::forward(&app, &req, None, err).await),
    };
    let token = manager::logout_token(&app, session.id);
    let mut url = app.config().public_base_url();
    url.set_path(&format!(
        "{}/self-service/logout",
        url.path().trim_end_matches('/')
    ));
    url.query_pairs_mut().append_pair("token", &token);
    if let Some(rt) = req.query_param("return_to").filter(|s| !s.is_empty()) {
        let validated = match return_to::validate(&app, &rt, &after_logout_default(&app)) {
            Ok(u) => u,
            Err(err) => return Ok(super::flow::respond::forward(&app, &req, None, err).await),
        };
        url.query_pairs_mut()
            .append_pair("return_to", validated.as_str());
    }
    Ok(response::ok(
        &json!({ "logout_url": url.to_string(), "logout_token": token }),
    ))
}

/// `GET /self-service/logout?token=`: revokes the cookie's session and clears the cookie.
async fn logout(app: App, req: Request) -> Result<Response> {
    match perform_logout(&app, &req).await {
        Ok(res) => Ok(res),
        Err(err) => Ok(super::flow::respond::forward(&app, &req, None, err).await),
    }
}

async fn perform_logout(app: &App, req: &Request) -> Result<Response> {
    let expected = req
        .query_param("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request().with_reason("Please include a token in the URL query.")
        })?;
    let session = manager::from_request(app, req).await?;
    if !manager::verify_logout_token(app, session.id, &expected) {
        return Err(ApiError::forbidden()
            .with_reason("Unable to log out because the logout token in the URL query does not match the session cookie.")
            .into());
    }
    let mut c = app.db.conn().await?;
    crate::persistence::sessions::revoke(c.conn(), session.id).await?;
    app.session_cache.invalidate_session(session.id);
    let to = match req.query_param("return_to").filter(|s| !s.is_empty()) {
        Some(rt) => return_to::validate(app, &rt, &after_logout_default(app))?,
        None => after_logout_default(app),
    };
    let mut res = if req.is_json_request() {
        response::no_content()
    } else {
        response::redirect(to.as_str())
    };
    response::add_cookie(&mut res, &manager::removal_cookie(app).to_header());
    if let (_, Some(cookie)) = csrf::regenerate(app) {
        response::add_cookie(&mut res, &cookie.to_header());
    }
    Ok(res)
}

/// `DELETE /self-service/logout/api` with `{"session_token": "..."}`.
async fn logout_api(app: App, req: Request) -> Result<Response> {
    let body: Value = req.json()?;
    let token = body
        .get("session_token")
        .and_then(Value::as_str)
        .unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::bad_request()
            .with_reason("The session_token must be set.")
            .into());
    }
    if !manager::revoke_token(&app, token).await? {
        return Err(ApiError::forbidden()
            .with_reason("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.")
            .into());
    }
    Ok(response::no_content())
}
