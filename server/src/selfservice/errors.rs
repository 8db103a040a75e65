//! The self-service error endpoint: browsers are sent to the error UI with `?id=`, and the UI
//! fetches the error with `GET /self-service/errors?id=`.

use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::error::{Error, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::flows;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/self-service/errors", get_error);
}

pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/self-service/errors", get_error);
}

/// `selfservice.flows.error.ui_url`.
pub fn ui_url(app: &App) -> url::Url {
    let cfg = app.config();
    let raw = cfg.selfservice.flows.error.ui_url.as_str().to_string();
    url::Url::parse(&raw).unwrap_or_else(|_| {
        let mut base = cfg.public_base_url();
        base.set_path(&raw);
        base
    })
}

/// Stores an error for the error UI; returns its id.
pub async fn store(app: &App, req: &Request, err: &Error) -> Result<Uuid> {
    let mut api = err.to_api_error();
    if api.code >= 500 {
        tracing::error!(error = %err, "self-service flow failed");
    }
    api.request = req.request_id.clone();
    let id = Uuid::new_v4();
    let csrf = crate::selfservice::flow::csrf::token_from_cookie(app, req)
        .map(hex::encode)
        .unwrap_or_default();
    let mut c = app.db.conn().await?;
    flows::insert_error(c.conn(), id, &serde_json::to_value(&api)?, &csrf).await?;
    Ok(id)
}

/// `GET /self-service/errors?id=`.
async fn get_error(app: App, req: Request) -> Result<Response> {
    let id = match req.query_param("id").as_deref() {
        // Kratos serves a stub error for `id=stub:500` etc., which UIs use while developing.
        Some(stub) if stub.starts_with("stub:") => return Ok(response::ok(&stub_error(stub))),
        Some(id) => crate::http::request::parse_uuid(id, "id")?,
        None => {
            return Err(crate::error::ApiError::bad_request()
                .with_reason("The id query parameter is missing.")
                .into());
        }
    };
    let mut c = app.db.conn().await?;
    let row = flows::get_error(c.conn(), id).await?;
    flows::mark_error_seen(c.conn(), id).await?;
    let error: serde_json::Value = serde_json::from_str(&row.error)?;
    Ok(response::ok(&json!({
        "id": row.id,
        "error": error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })))
}

fn stub_error(stub: &str) -> serde_json::Value {
    let code: u16 = stub.trim_start_matches("stub:").parse().unwrap_or(500);
    let status =
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let api = crate::error::ApiError::new(status).with_reason("This is a stub error.");
    json!({ "id": stub, "error": api })
}
