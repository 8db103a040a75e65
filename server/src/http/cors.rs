//! CORS for the public API (`serve.public.cors`), with the semantics of the rs/cors middleware Kratos
//! uses: origins may contain one `*` wildcard, preflights are answered directly.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::{Response, response};
use crate::config::Cors as CorsConfig;

pub fn origin_allowed(cfg: &CorsConfig, origin: &str) -> bool {
    cfg.allowed_origins
        .iter()
        .any(|allowed| match allowed.split_once('*') {
            None => allowed.eq_ignore_ascii_case(origin),
            Some((prefix, suffix)) => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin[..prefix.len()].eq_ignore_ascii_case(prefix)
                    && origin[origin.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
        })
}

/// Answers a CORS preflight, or `None` when the request is not one (or CORS is off).
pub fn preflight(cfg: &CorsConfig, method: &Method, headers: &HeaderMap) -> Option<Response> {
    if !cfg.enabled || method != Method::OPTIONS || cfg.options_passthrough {
        return None;
    }
    let requested = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)?
        .to_str()
        .ok()?;
    let mut res = response::empty(StatusCode::NO_CONTENT);
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or("");
    let method_ok = cfg
        .allowed_methods
        .iter()
        .any(|m| m.as_str().eq_ignore_ascii_case(requested));
    if !origin_allowed(cfg, origin) || !method_ok {
        return Some(res);
    }
    let h = res.headers_mut();
    allow_origin(cfg, origin, h);
    set(
        h,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &requested.to_ascii_uppercase(),
    );
    if let Some(req_headers) = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
    {
        let all_allowed = req_headers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .all(|wanted| {
                cfg.allowed_headers
                    .iter()
                    .any(|a| a == "*" || a.eq_ignore_ascii_case(wanted))
            });
        if all_allowed {
            set(h, header::ACCESS_CONTROL_ALLOW_HEADERS, req_headers);
        }
    }
    if cfg.max_age > 0 {
        set(h, header::ACCESS_CONTROL_MAX_AGE, &cfg.max_age.to_string());
    }
    Some(res)
}

/// Adds CORS headers to an actual (non-preflight) response.
pub fn decorate(cfg: &CorsConfig, origin: &HeaderValue, headers: &mut HeaderMap) {
    let Ok(origin) = origin.to_str() else { return };
    if !cfg.enabled || !origin_allowed(cfg, origin) {
        return;
    }
    allow_origin(cfg, origin, headers);
    if !cfg.exposed_headers.is_empty() {
        set(
            headers,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &cfg.exposed_headers.join(", "),
        );
    }
}

fn allow_origin(cfg: &CorsConfig, origin: &str, headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let all = cfg.allowed_origins.iter().any(|o| o == "*");
    // A credentialed request may not be answered with `*`; echo the origin instead.
    let value = if all && !cfg.allow_credentials {
        "*"
    } else {
        origin
    };
    set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if cfg.allow_credentials {
        set(headers, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_origins() {
        let cfg = CorsConfig {
            enabled: true,
            allowed_origins: vec![
                "https://*.example.com".into(),
                "http://localhost:3000".into(),
            ],
            ..Default::default()
        };
        assert!(origin_allowed(&cfg, "https://app.example.com"));
        assert!(origin_allowed(&cfg, "http://localhost:3000"));
        assert!(!origin_allowed(&cfg, "https://example.org"));
        assert!(!origin_allowed(&cfg, "http://app.example.com"));
    }

    #[test]
    fn preflight_echoes_allowed_origin() {
        let cfg = CorsConfig {
            enabled: true,
            allowed_origins: vec!["http://ui.test".into()],
            ..Default::default()
        };
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static("http://ui.test"));
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        let res = preflight(&cfg, &Method::OPTIONS, &h).unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://ui.test"
        );
        assert_eq!(
            res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
            "true"
        );
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.test"));
        let res = preflight(&cfg, &Method::OPTIONS, &h).unwrap();
        assert!(
            !res.headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }
}
