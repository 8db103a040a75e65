//! `return_to` handling: a redirect target is only followed when it matches
//! `selfservice.allowed_return_urls` (scheme, host with an optional `*.` wildcard, and path
//! prefix) or the public API itself, as Kratos's secure redirect does.

use url::Url;

use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::Request;

fn allowed(app: &App) -> Vec<Url> {
    let cfg = app.config();
    let mut list: Vec<Url> = cfg
        .selfservice
        .allowed_return_urls
        .iter()
        .filter_map(|u| u.to_absolute())
        .collect();
    list.push(cfg.public_base_url());
    list
}

fn host_allowed(candidate: &Url, allowed: &Url) -> bool {
    let (Some(c), Some(a)) = (candidate.host_str(), allowed.host_str()) else {
        return false;
    };
    let c_host = match candidate.port() {
        Some(p) => format!("{c}:{p}"),
        None => c.to_string(),
    };
    let a_host = match allowed.port() {
        Some(p) => format!("{a}:{p}"),
        None => a.to_string(),
    };
    match a_host.strip_prefix('*') {
        Some(suffix) => c_host
            .to_ascii_lowercase()
            .ends_with(&suffix.to_ascii_lowercase()),
        None => c_host.eq_ignore_ascii_case(&a_host),
    }
}

/// Validates a requested return URL; relative URLs resolve against `default`.
pub fn validate(app: &App, raw: &str, default: &Url) -> Result<Url> {
    let candidate = default.join(raw).map_err(|e| {
        ApiError::bad_request().with_reason(format!(
            "Unable to parse the return_to query parameter as an URL: {e}"
        ))
    })?;
    let path = if candidate.path().is_empty() {
        "/"
    } else {
        candidate.path()
    };
    let ok = allowed(app).iter().any(|a| {
        a.scheme().eq_ignore_ascii_case(candidate.scheme())
            && host_allowed(&candidate, a)
            && path.starts_with(if a.path().is_empty() { "/" } else { a.path() })
    });
    if ok {
        Ok(candidate)
    } else {
        Err(ApiError::bad_request()
            .with_id("self_service_flow_return_to_forbidden")
            .with_reason(format!(
                "Requested return_to URL \"{candidate}\" is not allowed."
            ))
            .into())
    }
}

/// The validated `return_to` of an init request, as given.
pub fn from_request(app: &App, req: &Request) -> Result<Option<String>> {
    match req.query_param("return_to").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => {
            validate(app, &raw, &default_return_url(app))?;
            Ok(Some(raw))
        }
    }
}

/// `selfservice.default_browser_return_url` (or the public URL if it is relative).
pub fn default_return_url(app: &App) -> Url {
    let cfg = app.config();
    cfg.selfservice
        .default_browser_return_url
        .to_absolute()
        .unwrap_or_else(|| cfg.public_base_url())
}

/// Where a browser goes after a flow: the flow's `return_to`, else the flow-specific default
/// (e.g. `selfservice.flows.login.after.default_browser_return_url`), else the global default.
pub fn after_flow(app: &App, return_to: Option<&str>, flow_default: Option<Url>) -> Result<Url> {
    let default = flow_default.unwrap_or_else(|| default_return_url(app));
    match return_to {
        Some(rt) => validate(app, rt, &default),
        None => Ok(default),
    }
}
