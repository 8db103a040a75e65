//! The admin identity API (`/admin/identities...`), exactly as Kratos v26.2 serves it. The public
//! API answers the same paths with a 307 redirect to the admin API, as Kratos does.

use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::import::{CreateIdentityBody, UpdateIdentityBody, import_credentials, parse_state};
use super::manager::UpdateOptions;
use super::model::{CredentialsType, Identity, IdentityState};
use super::view::{AdminIdentity, ConfigShown, read_patched};
use super::{credentials, paging, patch};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::identities::{self as repo, Expand, ListFilter};
use crate::persistence::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, finish_page};

/// At most this many identities per batch request.
pub const BATCH_LIMIT: usize = 1000;
/// At most this many identities with a plaintext password per batch request (hashing is slow).
pub const BATCH_PLAINTEXT_LIMIT: usize = 200;
/// At most this many ids in the `ids` filter.
const IDS_FILTER_LIMIT: usize = 500;
/// Legacy `page`/`per_page` pagination cannot go beyond this many items.
const LEGACY_PAGINATION_LIMIT: usize = 1000;

pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/identities", list);
    r.post("/admin/identities", create);
    r.patch("/admin/identities", batch);
    r.get(
        "/admin/identities/by/external/{external_id}",
        get_by_external_id,
    );
    r.get("/admin/identities/{id}", get);
    r.put("/admin/identities/{id}", update);
    r.patch("/admin/identities/{id}", patch_identity);
    r.delete("/admin/identities/{id}", delete);
    r.delete(
        "/admin/identities/{id}/credentials/{type}",
        delete_credential,
    );
}

pub fn register_public(r: &mut RouterBuilder) {
    use http::Method;
    for prefix in ["", "/admin"] {
        let collection = format!("{prefix}/identities");
        r.any(&[Method::GET, Method::POST], &collection, redirect_to_admin);
        r.any(
            &[Method::GET],
            &format!("{collection}/by/external/{{external_id}}"),
            redirect_to_admin,
        );
        r.any(
            &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
            &format!("{collection}/{{id}}"),
            redirect_to_admin,
        );
        r.any(
            &[Method::DELETE],
            &format!("{collection}/{{id}}/credentials/{{type}}"),
            redirect_to_admin,
        );
    }
}

/// Kratos's `RedirectToAdminRoute`: 307 to the same path under the admin base URL's `/admin`.
async fn redirect_to_admin(app: App, req: Request) -> Result<Response> {
    let admin = app.config().admin_base_url();
    let path = req.path.strip_prefix("/admin").unwrap_or(&req.path);
    let mut target = admin.clone();
    let base = admin.path().trim_end_matches('/');
    target.set_path(&format!("{base}/admin{path}"));
    target.set_query((!req.query.is_empty()).then_some(req.query.as_str()));
    Ok(response::redirect_with(
        StatusCode::TEMPORARY_REDIRECT,
        target.as_str(),
    ))
}

fn not_found() -> Error {
    ApiError::not_found()
        .with_message("Unable to locate the resource")
        .into()
}

/// Path ids that are not UUIDs cannot exist: Kratos answers 404, as for any unknown id.
fn path_id(req: &Request) -> Result<Uuid> {
    Uuid::parse_str(req.param("id")).map_err(|_| not_found())
}

/// Repeated (`?x=a&x=b`) and comma-separated (`?x=a,b`, as the SDKs send arrays) values.
fn multi(req: &Request, name: &str) -> Vec<String> {
    req.query_params(name)
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn include_credential(req: &Request) -> Result<Vec<CredentialsType>> {
    multi(req, "include_credential")
        .into_iter()
        .map(|v| {
            v.parse::<CredentialsType>().map_err(|()| {
                ApiError::bad_request()
                    .with_reason(format!(
                        "Invalid value `{v}` for parameter `include_credential`."
                    ))
                    .into()
            })
        })
        .collect()
}

fn created_response(app: &App, identity: &Identity) -> Response {
    let mut res = response::json(
        StatusCode::CREATED,
        &AdminIdentity::new(identity, ConfigShown::None),
    );
    let base = app.config().admin_base_url();
    let location = format!(
        "{}/identities/{}",
        base.as_str().trim_end_matches('/'),
        identity.id
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Kratos's strict decoder: unknown fields are refused; the error text becomes the message.
fn strict_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    // serde also fills structs from JSON arrays; Go's decoder, like any client, expects an object.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::bad_request()
            .with_message("Unable to decode JSON payload: expected a JSON object")
            .into());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request()
            .with_message(format!("Unable to decode JSON payload: {e}"))
            .into()
    })
}

/// A create rejected by the database for a taken identifier, address or external id.
fn conflict_on_create(err: Error) -> Error {
    if matches!(err, Error::DuplicateCredentials(_)) || err.status() == StatusCode::CONFLICT {
        ApiError::conflict()
            .with_reason("This identity conflicts with another identity that already exists.")
            .into()
    } else {
        err
    }
}

// ------------------------------------------------------------------------------------------------
// create, get, list, delete
// ------------------------------------------------------------------------------------------------

async fn create(app: App, req: Request) -> Result<Response> {
    let body: CreateIdentityBody = strict_json(&req.body)?;
    let mut identity = body.into_identity(&app).await?;
    app.identities()
        .create(&mut identity)
        .await
        .map_err(conflict_on_create)?;
    Ok(created_response(&app, &identity))
}

async fn get(app: App, req: Request) -> Result<Response> {
    let id = path_id(&req)?;
    let declassify = include_credential(&req)?;
    let identity = app.identities().get(id, Expand::EVERYTHING).await?;
    Ok(response::ok(&AdminIdentity::new(
        &identity,
        ConfigShown::Declassified(&declassify),
    )))
}

async fn get_by_external_id(app: App, req: Request) -> Result<Response> {
    let external_id = req.param("external_id");
    if external_id.is_empty() {
        return Err(ApiError::bad_request()
            .with_reason("The external ID must not be empty.")
            .into());
    }
    let declassify = include_credential(&req)?;
    let mut c = app.db.conn().await?;
    let mut identity = repo::find_by_external_id(c.conn(), external_id, Expand::EVERYTHING)
        .await?
        .ok_or_else(not_found)?;
    drop(c);
    app.identities().render(&mut identity);
    Ok(response::ok(&AdminIdentity::new(
        &identity,
        ConfigShown::Declassified(&declassify),
    )))
}

async fn delete(app: App, req: Request) -> Result<Response> {
    let id = path_id(&req)?;
    app.identities().delete(id).await?;
    Ok(response::no_content())
}

enum Paging {
    Keyset { size: usize, after: Option<Uuid> },
    Legacy(paging::Page),
}

fn parse_paging(app: &App, req: &Request) -> Result<Paging> {
    let has = |k: &str| req.query_param(k).is_some();
    if !has("page_token") && !has("page_size") && has("page") {
        let page = paging::parse(req, 500)?;
        if page.page.saturating_mul(page.per_page) > LEGACY_PAGINATION_LIMIT {
            return Err(ApiError::bad_request()
                .with_reason(format!("Legacy pagination is not supported for enumerating over {LEGACY_PAGINATION_LIMIT} items. Please switch to using page_token and page_size."))
                .into());
        }
        return Ok(Paging::Legacy(page));
    }
    let tokens = app.page_tokens();
    let parsed = tokens.parse(req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let mut size = parsed.size;
    if !has("page_size")
        && let Some(per_page) = req.query_param("per_page")
    {
        size = per_page
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                ApiError::bad_request().with_reason(format!(
                    "The page_size parameter must be an integer between 1 and {MAX_PAGE_SIZE}."
                ))
            })?
            .min(MAX_PAGE_SIZE);
    }
    let after = match parsed.after {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Uuid::parse_str(&s).map_err(|_| {
            ApiError::bad_request()
                .with_reason("The page token is invalid, do not craft page tokens yourself.")
        })?),
        Some(_) => {
            return Err(ApiError::bad_request()
                .with_reason("The page token is invalid, do not craft page tokens yourself.")
                .into());
        }
    };
    Ok(Paging::Keyset { size, after })
}

async fn list(app: App, req: Request) -> Result<Response> {
    let mut filter = ListFilter::default();
    let mut filters = 0;
    let ids = multi(&req, "ids");
    if !ids.is_empty() {
        filters += 1;
        for v in &ids {
            filter.ids.push(Uuid::parse_str(v).map_err(|_| {
                ApiError::bad_request()
                    .with_reason(format!("Invalid UUID value `{v}` for parameter `ids`."))
            })?);
        }
        if filter.ids.len() > IDS_FILTER_LIMIT {
            return Err(ApiError::bad_request()
                .with_reason("The number of ids to filter must not exceed 500.")
                .into());
        }
    }
    if let Some(org) = req.query_param("organization_id").filter(|v| !v.is_empty()) {
        filters += 1;
        filter.organization_id = Some(Uuid::parse_str(&org).map_err(|_| {
            ApiError::bad_request().with_reason(format!(
                "Invalid UUID value `{org}` for parameter `organization_id`."
            ))
        })?);
    }
    let mut expand = Expand::ADDRESSES;
    if let Some(identifier) = req
        .query_param("credentials_identifier")
        .filter(|v| !v.is_empty())
    {
        filters += 1;
        expand = Expand::EVERYTHING;
        filter.credentials_identifier = Some(identifier);
    }
    if let Some(similar) = req
        .query_param("preview_credentials_identifier_similar")
        .filter(|v| !v.is_empty())
    {
        filters += 1;
        expand = Expand::EVERYTHING;
        filter.credentials_identifier_similar = Some(similar);
    }
    let declassify = include_credential(&req)?;
    if !declassify.is_empty() {
        expand = Expand::EVERYTHING;
    }
    if filters > 1 {
        return Err(ApiError::bad_request()
            .with_reason("You cannot combine multiple filters in this API")
            .into());
    }

    let paging = parse_paging(&app, &req)?;
    let mut c = app.db.conn().await?;
    let (mut identities, links) = match paging {
        Paging::Keyset { size, after } => {
            filter.after = after;
            filter.limit = size + 1;
            let rows = repo::list(c.conn(), &filter, expand).await?;
            let (rows, next) = finish_page(rows, size, |i| json!(i.id.to_string()));
            (rows, Links::Keyset { size, next })
        }
        Paging::Legacy(page) => {
            filter.offset = page.offset();
            filter.limit = page.per_page;
            let rows = repo::list(c.conn(), &filter, expand).await?;
            let total = if filter.credentials_identifier.is_some() {
                rows.len()
            } else {
                repo::count(c.conn()).await?.max(0) as usize
            };
            (rows, Links::Legacy { page, total })
        }
    };
    drop(c);
    let manager = app.identities();
    for i in &mut identities {
        manager.render(i);
    }
    let body: Vec<AdminIdentity<'_>> = identities
        .iter()
        .map(|i| AdminIdentity::new(i, ConfigShown::Declassified(&declassify)))
        .collect();
    let mut res = response::ok(&body);
    match links {
        Links::Legacy { page, total } => paging::headers(&mut res, &req, page, total),
        Links::Keyset { size, next } => {
            let link = app.page_tokens().link_header(&req, size, next.as_ref());
            if let Ok(v) = HeaderValue::from_str(&link) {
                res.headers_mut().insert(header::LINK, v);
            }
        }
    }
    Ok(res)
}

enum Links {
    Keyset { size: usize, next: Option<Value> },
    Legacy { page: paging::Page, total: usize },
}

// ------------------------------------------------------------------------------------------------
// update (PUT) and patch (JSON Patch)
// ------------------------------------------------------------------------------------------------

/// Kratos decodes PUT bodies with its HTTP decoder: JSON only, non-empty.
fn decode_put_body(req: &Request) -> Result<UpdateIdentityBody> {
    if req.body.is_empty() {
        return Err(ApiError::bad_request()
            .with_reason("Unable to decode HTTP Request Body because its HTTP Header \"Content-Length\" is zero.")
            .into());
    }
    if req.content_type() != "application/json" {
        return Err(ApiError::bad_request()
            .with_reason(format!(
                "HTTP PUT Request used unknown HTTP Header \"Content-Type: {}\", only [application/json] are supported.",
                req.header("content-type").unwrap_or("")
            ))
            .into());
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::bad_request()
            .with_reason(format!("Unable to decode JSON payload: {e}"))
            .into()
    })
}

async fn update(app: App, req: Request) -> Result<Response> {
    let id = path_id(&req)?;
    let body = decode_put_body(&req)?;
    let manager = app.identities();
    let mut identity = manager.get(id, Expand::EVERYTHING).await?;
    if !body.schema_id.is_empty() {
        identity.schema_id = body.schema_id;
    }
    if let Some(state) = body.state.filter(|s| !s.is_empty())
        && state != identity.state.as_str()
    {
        identity.state = parse_state(&state)?;
        identity.state_changed_at = Some(crate::persistence::now());
    }
    identity.traits = body.traits;
    identity.metadata_public = Some(body.metadata_public).filter(|v| !v.is_null());
    identity.metadata_admin = Some(body.metadata_admin).filter(|v| !v.is_null());
    identity.external_id = body.external_id.filter(|e| !e.is_empty());
    // PUT keeps the stored credentials unless new ones are given; those are added.
    if let Some(creds) = body.credentials {
        import_credentials(&app, &mut identity, creds).await?;
    }
    manager
        .update(&mut identity, UpdateOptions::PRIVILEGED)
        .await?;
    Ok(response::ok(&AdminIdentity::new(
        &identity,
        ConfigShown::None,
    )))
}

async fn patch_identity(app: App, req: Request) -> Result<Response> {
    let id = path_id(&req)?;
    let manager = app.identities();
    let original = manager.get(id, Expand::EVERYTHING).await?;
    let mut doc = AdminIdentity::new(&original, ConfigShown::All).to_value();
    patch::apply(&mut doc, &req.body).map_err(|e| {
        ApiError::bad_request()
            .with_reason("An error occured when applying the JSON patch")
            .with_message(e)
    })?;
    let patched = read_patched(doc, &original)?;
    let mut identity = patched.identity;
    if patched.state != original.state.as_str() {
        identity.state = patched.state.parse::<IdentityState>().map_err(|()| {
            ApiError::bad_request().with_reason(format!(
                "The supplied state ('{}') was not valid. Valid states are ('active', 'inactive').",
                patched.state
            ))
        })?;
        identity.state_changed_at = Some(crate::persistence::now());
    }
    manager
        .update(&mut identity, UpdateOptions::PRIVILEGED)
        .await?;
    Ok(response::ok(&AdminIdentity::new(
        &identity,
        ConfigShown::None,
    )))
}

// ------------------------------------------------------------------------------------------------
// batch create
// ------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    #[serde(default)]
    identities: Vec<Option<BatchItem>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    #[serde(default)]
    create: Option<CreateIdentityBody>,
    #[serde(default)]
    patch_id: Option<Uuid>,
}

#[derive(Serialize)]
struct BatchItemResult {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ApiError>,
}

/// The per-item error of a batch: Kratos turns validation failures into 400s with their reason
/// and reports taken identifiers with the database layer's 409.
fn batch_error(err: &Error) -> ApiError {
    match err {
        Error::DuplicateCredentials(_) => ApiError::unique_violation(),
        Error::Validation(v) => ApiError::bad_request().with_reason(v.reason()),
        other => {
            let api = other.to_api_error();
            if api.code >= 500 {
                tracing::error!(error = %other, "batch identity import failed");
            }
            api
        }
    }
}

async fn batch(app: App, req: Request) -> Result<Response> {
    let body: BatchBody = strict_json(&req.body)?;
    if body.identities.len() > BATCH_LIMIT {
        return Err(ApiError::bad_request()
            .with_reason(format!("The maximum number of identities per request that can be created or deleted at once is {BATCH_LIMIT}."))
            .into());
    }
    let plaintext = body
        .identities
        .iter()
        .flatten()
        .filter_map(|i| i.create.as_ref())
        .filter(|c| c.has_plaintext_password())
        .count();
    if plaintext > BATCH_PLAINTEXT_LIMIT {
        return Err(ApiError::bad_request()
            .with_reason(format!("The maximum number of identities per request that can be created with a plaintext password is {BATCH_PLAINTEXT_LIMIT}."))
            .into());
    }

    // Bodies are turned into identities first; a malformed one fails the whole request, as in
    // Kratos. Then each identity is validated and stored on its own.
    let mut slots: Vec<Option<(Option<Uuid>, usize)>> = Vec::with_capacity(body.identities.len());
    let mut to_create = Vec::new();
    for item in body.identities {
        match item {
            Some(BatchItem {
                create: Some(create),
                patch_id,
            }) => {
                to_create.push(create.into_identity(&app).await?);
                slots.push(Some((patch_id, to_create.len() - 1)));
            }
            _ => slots.push(None),
        }
    }
    let outcomes = app.identities().create_many(to_create).await;
    let results: Vec<Option<BatchItemResult>> = slots
        .into_iter()
        .map(|slot| {
            slot.map(|(patch_id, index)| match &outcomes[index] {
                Ok(identity) => BatchItemResult {
                    action: "create",
                    identity: Some(identity.id),
                    patch_id,
                    error: None,
                },
                Err(e) => BatchItemResult {
                    action: "error",
                    identity: None,
                    patch_id,
                    error: Some(batch_error(e)),
                },
            })
        })
        .collect();
    Ok(response::ok(&json!({ "identities": results })))
}

// ------------------------------------------------------------------------------------------------
// delete a credential
// ------------------------------------------------------------------------------------------------

async fn delete_credential(app: App, req: Request) -> Result<Response> {
    let id = path_id(&req)?;
    let manager = app.identities();
    let mut identity = manager.get(id, Expand::EVERYTHING).await?;
    let type_name = req.param("type").to_string();
    let missing = || -> Error {
        ApiError::not_found()
            .with_reason(format!(
                "You tried to remove a {type_name} but this user have no {type_name} set up."
            ))
            .into()
    };
    let kind = type_name
        .parse::<CredentialsType>()
        .map_err(|()| missing())?;
    let Some(cred) = identity.credentials.get(&kind).cloned() else {
        return Err(missing());
    };
    match kind {
        CredentialsType::LookupSecret | CredentialsType::Totp => {
            identity.credentials.remove(&kind);
        }
        CredentialsType::Webauthn => {
            // Only second-factor keys are removed; passwordless keys stay.
            let mut config = cred.config.clone().unwrap_or_else(|| json!({}));
            let kept: Vec<Value> = config
                .get("credentials")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter(|c| c.get("is_passwordless").and_then(Value::as_bool) == Some(true))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if kept.is_empty() {
                identity.credentials.remove(&kind);
            } else {
                config["credentials"] = Value::Array(kept);
                if let Some(c) = identity.credentials.get_mut(&kind) {
                    c.config = Some(config);
                    c.updated_at = crate::persistence::now();
                }
            }
        }
        CredentialsType::Password | CredentialsType::Oidc | CredentialsType::Saml => {
            if manager.count_first_factor(&identity) < 2 {
                return Err(ApiError::bad_request()
                    .with_reason("You cannot remove the last first factor credential.")
                    .into());
            }
            if kind == CredentialsType::Password {
                if let Some(c) = identity.credentials.get_mut(&kind) {
                    c.config = Some(json!({}));
                    c.updated_at = crate::persistence::now();
                }
            } else {
                remove_provider_link(&mut identity, kind, req.query_param("identifier"))?;
            }
        }
        other => {
            return Err(ApiError::bad_request()
                .with_reason(format!("Credentials type {other} cannot be deleted."))
                .into());
        }
    }
    manager
        .update(&mut identity, UpdateOptions::PRIVILEGED)
        .await?;
    Ok(response::no_content())
}

fn remove_provider_link(
    identity: &mut Identity,
    kind: CredentialsType,
    identifier: Option<String>,
) -> Result<()> {
    let Some(identifier) = identifier.filter(|i| !i.is_empty()) else {
        return Err(ApiError::bad_request()
            .with_reason("You must provide an identifier to delete this credential.")
            .into());
    };
    let Some(cred) = identity.credentials.get_mut(&kind) else {
        return Err(ApiError::not_found()
            .with_reason(format!(
                "You tried to remove a {kind} credential but this user has no such credential set up."
            ))
            .into());
    };
    let config: credentials::OidcConfig = cred
        .config
        .clone()
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default();
    let before = config.providers.len();
    let providers: Vec<_> = config
        .providers
        .into_iter()
        .filter(|p| credentials::oidc_identifier(&p.provider, &p.subject) != identifier)
        .collect();
    if providers.len() == before {
        return Err(ApiError::not_found()
            .with_reason(format!(
                "The identifier `{identifier}` was not found among OIDC credentials."
            ))
            .into());
    }
    cred.identifiers = providers
        .iter()
        .map(|p| credentials::oidc_identifier(&p.provider, &p.subject))
        .collect();
    cred.config = Some(serde_json::to_value(credentials::OidcConfig { providers })?);
    cred.updated_at = crate::persistence::now();
    Ok(())
}
