//! `GET /schemas` and `GET /schemas/{id}` on the public and admin APIs (also under `/admin`), and
//! `GET /admin/health/schemas`, which lists the schemas in force with their content hashes, and the
//! kratos-rs extensions under `/admin/x/schemas`.

use bytes::Bytes;
use http::StatusCode;

use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::identity::paging;

pub fn register_public(r: &mut RouterBuilder) {
    r.get("/schemas", list);
    r.get("/schemas/{id}", get);
    r.get("/admin/schemas", list);
    r.get("/admin/schemas/{id}", get);
}

/// Kratos's admin port redirects these to the public port; we answer them directly (same body).
pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/schemas", list);
    r.get("/admin/schemas/{id}", get);
    r.get("/admin/health/schemas", digests);
    r.get("/admin/x/schemas", status);
    super::check::register_admin(r);
}

async fn get(app: App, req: Request) -> Result<Response> {
    let id = req.param("id");
    let schema = app.schemas.get(id).map_err(|_| {
        ApiError::not_found().with_reason(format!("Identity schema `{id}` could not be found."))
    })?;
    Ok(response::raw_json(
        StatusCode::OK,
        Bytes::copy_from_slice(schema.raw()),
    ))
}

async fn list(app: App, req: Request) -> Result<Response> {
    let page = paging::parse(&req, paging::MAX_PER_PAGE)?;
    let set = app.schemas.current();
    let all = set.schemas();
    // The documents are embedded as loaded, so their key order is what the operator wrote.
    let mut body = Vec::from(&b"["[..]);
    for (n, schema) in all
        .iter()
        .skip(page.offset())
        .take(page.per_page)
        .enumerate()
    {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"{\"id\":");
        body.extend_from_slice(&serde_json::to_vec(schema.id())?);
        body.extend_from_slice(b",\"schema\":");
        body.extend_from_slice(schema.raw());
        body.push(b'}');
    }
    body.push(b']');
    let mut res = response::raw_json(StatusCode::OK, Bytes::from(body));
    paging::headers(&mut res, &req, page, all.len());
    Ok(res)
}

/// `GET /admin/x/schemas` (kratos-rs extension): the schemas in force with their content hashes
/// (the same hash the operator reports in IdentitySchema status), the default id, and the state
/// of the cluster watch when the server serves IdentitySchemas from Kubernetes.
async fn status(app: App, _: Request) -> Result<Response> {
    let set = app.schemas.current();
    Ok(response::ok(&serde_json::json!({
        "default_schema_id": set.default_id(),
        "schemas": set.digests(),
        "kubernetes": app.schemas.cluster_status(),
    })))
}

async fn digests(app: App, _: Request) -> Result<Response> {
    Ok(response::ok(&app.schemas.digests()))
}
