//! Health, version and metrics endpoints.

use http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::error::Result;
use crate::http::{Request, Response, RouterBuilder, response};

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/health/alive", alive);
    r.get("/health/ready", ready);
    r.get("/version", version);
}

pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/health/alive", alive);
    r.get("/admin/health/ready", ready);
    r.get("/admin/health/config", config_revision);
    r.get("/admin/version", version);
    r.get("/admin/metrics/prometheus", metrics);
}

async fn alive(_: App, _: Request) -> Result<Response> {
    Ok(response::ok(&json!({ "status": "ok" })))
}

/// Ready when the database answers; 503 otherwise, recovering by itself when it is back.
async fn ready(app: App, _: Request) -> Result<Response> {
    match app.db.ping().await {
        Ok(()) => Ok(response::ok(&json!({ "status": "ok" }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed: database unreachable");
            Ok(response::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "errors": { "database": "the database is not reachable" } }),
            ))
        }
    }
}

async fn version(_: App, _: Request) -> Result<Response> {
    Ok(response::ok(&json!({ "version": crate::VERSION })))
}

/// The configuration revision (Kratos's `/health/config`): changes with every applied reload.
async fn config_revision(app: App, _: Request) -> Result<Response> {
    let mut res = response::raw_json(StatusCode::OK, app.config.revision().into());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    Ok(res)
}

async fn metrics(app: App, _: Request) -> Result<Response> {
    let mut res = response::raw_json(StatusCode::OK, app.metrics.render().into());
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    Ok(res)
}
