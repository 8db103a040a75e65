//! The request as handlers see it: method, path, query, headers, peer address, the body already read
//! within the configured limit, and the route's path parameters.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Result};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub remote_addr: Option<SocketAddr>,
    pub body: Bytes,
    pub params: Vec<(String, String)>,
    /// `X-Request-Id` as sent by a proxy, echoed in error bodies.
    pub request_id: Option<String>,
}

impl Request {
    /// A path parameter declared in the route, e.g. `{id}`.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// A path parameter that must be a UUID; anything else is a 400, as in Kratos.
    pub fn uuid_param(&self, name: &str) -> Result<uuid::Uuid> {
        parse_uuid(self.param(name), name)
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded_pairs(&self.query)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// All values of a repeated query parameter (`?ids=a&ids=b`).
    pub fn query_params(&self, name: &str) -> Vec<String> {
        form_urlencoded_pairs(&self.query)
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect()
    }

    pub fn query_uuid(&self, name: &str) -> Result<Option<uuid::Uuid>> {
        match self.query_param(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => parse_uuid(&v, name).map(Some),
        }
    }

    pub fn query_bool(&self, name: &str) -> bool {
        matches!(self.query_param(name).as_deref(), Some("true" | "1"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type")
            .and_then(|ct| ct.split(';').next())
            .map(str::trim)
            .unwrap_or("")
    }

    /// The value of a cookie, if sent.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"'))
    }

    pub fn has_cookies(&self) -> bool {
        self.headers.contains_key(http::header::COOKIE)
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.header("user-agent")
    }

    /// The client's IP: the first `X-Forwarded-For` entry if a proxy set one, else the peer address.
    pub fn client_ip(&self) -> Option<String> {
        if let Some(ip) = self.header("true-client-ip") {
            return Some(ip.trim().to_string());
        }
        if let Some(forwarded) = self.header("x-forwarded-for")
            && let Some(first) = forwarded
                .split(',')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
        {
            return Some(first.to_string());
        }
        self.remote_addr.map(|a| a.ip().to_string())
    }

    pub fn accepts_json(&self) -> bool {
        super::negotiate::accepts_json(&self.headers)
    }

    pub fn is_json_request(&self) -> bool {
        super::negotiate::is_json_request(&self.headers)
    }

    pub fn is_browser_request(&self) -> bool {
        super::negotiate::is_browser_request(&self.headers)
    }

    /// The body as JSON of type `T`; malformed bodies and wrong content types are 400s with the
    /// path of the offending field.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let ct = self.content_type();
        if !ct.is_empty() && ct != "application/json" && !ct.ends_with("+json") {
            return Err(ApiError::new(http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .with_reason(format!(
                    "Content-Type `{ct}` is not supported here; use application/json."
                ))
                .into());
        }
        parse_json(&self.body)
    }

    /// The body of a form submission: JSON or `application/x-www-form-urlencoded`, as Kratos accepts
    /// both on every self-service endpoint. Form bodies are returned as a JSON object whose values
    /// are strings (the strategies convert them against the identity schema).
    pub fn form_or_json(&self) -> Result<serde_json::Value> {
        match self.content_type() {
            "application/x-www-form-urlencoded" => {
                let text = std::str::from_utf8(&self.body).map_err(|_| {
                    ApiError::bad_request().with_reason("The request body is not valid UTF-8.")
                })?;
                Ok(crate::http::form::decode(text))
            }
            "multipart/form-data" => Err(ApiError::new(http::StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .with_reason("multipart/form-data is not supported; send application/json or application/x-www-form-urlencoded.")
                .into()),
            _ if self.body.is_empty() => Ok(serde_json::Value::Object(Default::default())),
            _ => parse_json(&self.body),
        }
    }

    /// The full URL of this request as seen through `base` (the configured public base URL).
    pub fn url_from(&self, base: &url::Url) -> String {
        let mut url = base.clone();
        let base_path = base.path().trim_end_matches('/');
        url.set_path(&format!("{base_path}{}", self.path));
        url.set_query(if self.query.is_empty() {
            None
        } else {
            Some(&self.query)
        });
        url.to_string()
    }
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::bad_request()
            .with_reason("The request body is not valid UTF-8.")
            .into());
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let reason = if path == "." || path.is_empty() {
            format!("Unable to decode JSON payload: {inner}")
        } else {
            format!("Unable to decode JSON payload at `{path}`: {inner}")
        };
        ApiError::bad_request().with_reason(reason).into()
    })
}

pub fn parse_uuid(value: &str, name: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(value).map_err(|_| {
        ApiError::bad_request()
            .with_reason(format!(
                "The `{name}` parameter is not a valid UUID: {value:?}"
            ))
            .into()
    })
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}
