//! Anti-CSRF for browser flows, compatible with Kratos (nosurf):
//! - a random 32-byte token lives in the `csrf_token_<sha256(public URL)>` cookie (HttpOnly);
//! - forms carry it masked with a one-time pad (`base64(pad || token ^ pad)`), so the value in the
//!   page changes on every render (BREACH), in the hidden `csrf_token` node;
//! - a submission must send the masked token in the `csrf_token` field or the `X-CSRF-Token`
//!   header; it is unmasked and compared in constant time with the cookie's token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Flow, FlowType};
use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::Request;
use crate::http::cookie::{Cookie, SameSite};

const TOKEN_LEN: usize = 32;
const COOKIE_MAX_AGE: i64 = 365 * 24 * 3600;

pub fn cookie_name(app: &App) -> String {
    let url = app.config().public_base_url();
    format!(
        "csrf_token_{}",
        hex::encode(Sha256::digest(url.as_str().as_bytes()))
    )
}

/// The raw token from the request's CSRF cookie, if present and well-formed.
pub fn token_from_cookie(app: &App, req: &Request) -> Option<Vec<u8>> {
    let value = req.cookie(&cookie_name(app))?;
    let raw = STANDARD.decode(value).ok()?;
    (raw.len() == TOKEN_LEN).then_some(raw)
}

/// Gives a new browser flow this browser's CSRF token (a new one if it has none); returns the
/// cookie to set for a new token. API flows are left alone.
pub fn protect_new_flow(app: &App, req: &Request, flow: &mut Flow) -> Vec<Cookie> {
    if flow.flow_type != FlowType::Browser {
        return Vec::new();
    }
    let (raw, cookie) = ensure_token(app, req);
    flow.csrf_token = mask(&raw);
    flow.ui.set_csrf(&flow.csrf_token.clone());
    cookie.into_iter().collect()
}

/// The request's CSRF token, or a new one with the cookie that must be set for it.
pub fn ensure_token(app: &App, req: &Request) -> (Vec<u8>, Option<Cookie>) {
    match token_from_cookie(app, req) {
        Some(raw) => (raw, None),
        None => regenerate(app),
    }
}

/// A fresh token and its cookie (after login, the token is rotated like Kratos does).
pub fn regenerate(app: &App) -> (Vec<u8>, Option<Cookie>) {
    let mut raw = vec![0u8; TOKEN_LEN];
    rand::fill(&mut raw[..]);
    let cookie = csrf_cookie(app, &STANDARD.encode(&raw));
    (raw, Some(cookie))
}

fn csrf_cookie(app: &App, value: &str) -> Cookie {
    let cfg = app.config();
    let mut cookie = Cookie::new(cookie_name(app), value);
    cookie.path = cfg.cookies.path.clone();
    cookie.domain = cfg.cookies.domain.clone();
    cookie.secure = cfg.cookie_secure();
    cookie.max_age = Some(COOKIE_MAX_AGE);
    cookie.same_site = Some(if cookie.secure {
        cfg.cookies.same_site
    } else {
        SameSite::Lax
    });
    cookie
}

/// The masked form of a token, as placed in forms.
pub fn mask(raw: &[u8]) -> String {
    let mut pad = vec![0u8; raw.len()];
    rand::fill(&mut pad[..]);
    let masked: Vec<u8> = raw.iter().zip(&pad).map(|(a, b)| a ^ b).collect();
    let mut out = pad;
    out.extend(masked);
    STANDARD.encode(out)
}

/// Unmasks a form token; plain (unmasked) tokens are accepted too, as nosurf does.
fn unmask(sent: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(sent.trim()).ok()?;
    match bytes.len() {
        n if n == 2 * TOKEN_LEN => {
            let (pad, masked) = bytes.split_at(TOKEN_LEN);
            Some(pad.iter().zip(masked).map(|(a, b)| a ^ b).collect())
        }
        TOKEN_LEN => Some(bytes),
        _ => None,
    }
}

/// Whether a masked token matches the raw one.
pub fn matches(raw: &[u8], sent: &str) -> bool {
    unmask(sent).is_some_and(|t| t.ct_eq(raw).into())
}

const NO_COOKIE: &str = "The HTTP Cookie Header is empty or not set.";
const COOKIE_MISSING: &str =
    "The HTTP Cookie Header was set but did not include the anti-CSRF cookie.";
const TOKEN_NOT_SENT: &str = "The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).";
const TOKEN_MISMATCH: &str = "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.";

/// Kratos's `security_csrf_violation` error, with its hint for AJAX or server-side callers.
pub fn violation(req: &Request, reject_reason: &'static str) -> ApiError {
    let mut err = ApiError::forbidden()
        .with_id("security_csrf_violation")
        .with_message("the request was rejected to protect you from Cross-Site-Request-Forgery")
        .with_reason("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
        .with_detail("docs", "https://www.ory.sh/kratos/docs/debug/csrf");
    if reject_reason == TOKEN_NOT_SENT {
        return err.with_detail("hint", TOKEN_NOT_SENT);
    }
    let hint = if req.is_json_request() {
        "We detected an AJAX call, please ensure that CORS is enabled and configured correctly, and that your AJAX code sends cookies and has credentials enabled. For further debugging, check your Browser's Network Tab to see what cookies are included or excluded."
    } else {
        "We detected a regular browser or server-side call. To debug browser calls check your Browser's Network Tab to see what cookies are included or excluded. If you are calling from a server ensure that the appropriate cookies are being forwarded and that the SDK method is called correctly."
    };
    err = err
        .with_detail("hint", hint)
        .with_detail("reject_reason", reject_reason);
    err
}

/// Verifies a browser submission: the cookie's token against the one sent in the body or header.
pub fn verify(app: &App, req: &Request, body_token: Option<&str>) -> Result<()> {
    let Some(raw) = token_from_cookie(app, req) else {
        let reason = if req.has_cookies() {
            COOKIE_MISSING
        } else {
            NO_COOKIE
        };
        return Err(violation(req, reason).into());
    };
    let sent = body_token
        .filter(|t| !t.is_empty())
        .or_else(|| req.header("x-csrf-token"));
    match sent {
        None => Err(violation(req, TOKEN_NOT_SENT).into()),
        Some(sent) if matches(&raw, sent) => Ok(()),
        Some(_) => Err(violation(req, TOKEN_MISMATCH).into()),
    }
}

/// The request's cookie names other than Cloudflare's, which Kratos ignores on API flows.
pub fn non_cloudflare_cookies(req: &Request) -> Vec<String> {
    req.headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('=').map(|(k, _)| k.to_string()))
        .filter(|name| {
            !name.starts_with("__cf") && !name.starts_with("_cf") && !name.starts_with("cf_")
        })
        .collect()
}

/// Browser flows may only be read by the browser that created them.
pub fn check_owner(app: &App, req: &Request, flow: &Flow) -> Result<()> {
    if flow.flow_type == FlowType::Browser {
        let ok = token_from_cookie(app, req).is_some_and(|raw| matches(&raw, &flow.csrf_token));
        if !ok {
            let reason = if req.has_cookies() {
                "The HTTP Cookie Header was set but did not include the anti-CSRF cookie."
            } else {
                "The HTTP Cookie Header is empty or not set."
            };
            return Err(violation(req, reason).into());
        }
    }
    Ok(())
}

/// Checks a submission's CSRF protection: API flows refuse browser traits (cookies, `Origin`),
/// browser flows need the token.
pub fn check_submission(app: &App, req: &Request, flow: &Flow, body: &Value) -> Result<()> {
    match flow.flow_type {
        FlowType::Api => {
            if req.header("origin").is_some() {
                return Err(ApiError::bad_request().with_reason("The HTTP Request Header included the \"Origin\" key, indicating that this request was made as part of an AJAX request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.").into());
            }
            let cookies = non_cloudflare_cookies(req);
            if !cookies.is_empty() {
                return Err(ApiError::bad_request()
                    .with_reason("The HTTP Request Header included the \"Cookie\" key, indicating that this request was made by a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.")
                    .with_detail("found cookies", json!(cookies))
                    .into());
            }
            Ok(())
        }
        FlowType::Browser => verify(app, req, body.get("csrf_token").and_then(Value::as_str)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_verify_and_differ() {
        let raw = vec![7u8; TOKEN_LEN];
        let a = mask(&raw);
        let b = mask(&raw);
        assert_ne!(a, b, "one-time pads make every rendering different");
        assert!(matches(&raw, &a) && matches(&raw, &b));
        assert!(
            matches(&raw, &STANDARD.encode(&raw)),
            "unmasked tokens are accepted"
        );
        assert!(!matches(&[8u8; TOKEN_LEN], &a));
        assert!(!matches(&raw, "not base64!"));
        assert!(!matches(&raw, &STANDARD.encode([1u8; 10])));
    }
}
