//! Building responses. Handlers return `Result<Response>`; errors are rendered in one place
//! (`render_error`).

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::error::{ApiError, Error};

pub type Response = warp::reply::Response;

/// A JSON response. Serialisation of our own types cannot fail in practice; if it does, it is a
/// bug, reported as a 500 rather than a panic.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => raw_json(status, Bytes::from(bytes)),
        Err(err) => render_error(
            &Error::internal(format!("serialising response: {err}")),
            None,
        ),
    }
}

/// A response from an already serialised JSON body (e.g. a cached whoami).
pub fn raw_json(status: StatusCode, body: Bytes) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

pub fn ok<T: Serialize + ?Sized>(body: &T) -> Response {
    json(StatusCode::OK, body)
}

pub fn empty(status: StatusCode) -> Response {
    let mut res = Response::new(Bytes::new().into());
    *res.status_mut() = status;
    res
}

pub fn no_content() -> Response {
    empty(StatusCode::NO_CONTENT)
}

/// A `303 See Other` redirect, which is what Kratos sends browsers between flow steps.
pub fn redirect(location: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, location)
}

pub fn redirect_with(status: StatusCode, location: &str) -> Response {
    let mut res = empty(status);
    match HeaderValue::from_str(location) {
        Ok(value) => {
            res.headers_mut().insert(header::LOCATION, value);
            res
        }
        Err(_) => render_error(
            &Error::internal(format!("invalid redirect location {location:?}")),
            None,
        ),
    }
}

/// Renders any error in Kratos's JSON error shape. 5xx causes are logged here and never shown.
pub fn render_error(err: &Error, request_id: Option<&str>) -> Response {
    let mut api: ApiError = err.to_api_error();
    if api.code >= 500 {
        tracing::error!(error = %err, request_id, "request failed");
    }
    api.request = request_id.map(str::to_string);
    let mut res = json(api.status_code(), &api.to_body());
    if api.code == 401 && api.id.as_deref() == Some("session_inactive") {
        // Kratos tells clients that authentication is possible with a session token or cookie.
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kratos\""),
        );
    }
    res
}

/// Adds a `Set-Cookie` header.
pub fn add_cookie(res: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
}
