//! Kratos's page-based ("migration") pagination, used by `GET /schemas` and by the legacy
//! `page`/`per_page` mode of `GET /admin/identities`: a zero-based page and a page size, answered
//! with `X-Total-Count` and `Link` headers (`first`, `next`, `prev`, `last`).
//!
//! Page tokens of this mode are not secret: they encode the page number, as Kratos's do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, Result};
use crate::http::{Request, Response};

pub const DEFAULT_PER_PAGE: usize = 250;
pub const MAX_PER_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Zero-based page index.
    pub page: usize,
    pub per_page: usize,
}

impl Page {
    pub fn offset(&self) -> usize {
        self.page.saturating_mul(self.per_page)
    }
}

fn encode_token(page: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{{\"page\":\"{page}\",\"v\":1}}"))
}

fn decode_token(token: &str) -> Result<usize> {
    let invalid = || {
        ApiError::bad_request()
            .with_reason("Unable to parse pagination token: the token is malformed")
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let page = match &v["page"] {
        serde_json::Value::String(s) => s.parse::<usize>().map_err(|_| invalid())?,
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(invalid)? as usize,
        _ => return Err(invalid().into()),
    };
    Ok(page)
}

fn number(req: &Request, name: &str) -> Option<i64> {
    req.query_param(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// Parses `page_token`/`page_size` (when either is present) or `page`/`per_page`. Like Kratos,
/// unparsable numbers fall back to the defaults and sizes are clamped to 1..=`max`.
pub fn parse(req: &Request, max: usize) -> Result<Page> {
    let clamp = |n: Option<i64>| -> usize {
        match n {
            None => DEFAULT_PER_PAGE.min(max),
            Some(n) => (n.max(1) as usize).min(max),
        }
    };
    if req.query_param("page_token").is_some() || req.query_param("page_size").is_some() {
        let page = match req.query_param("page_token").filter(|t| !t.is_empty()) {
            Some(token) => decode_token(&token)?,
            None => 0,
        };
        return Ok(Page {
            page,
            per_page: clamp(number(req, "page_size")),
        });
    }
    Ok(Page {
        page: number(req, "page").unwrap_or(0).max(0) as usize,
        per_page: clamp(number(req, "per_page")),
    })
}

fn link(req: &Request, rel: &str, per_page: usize, page: usize) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query.as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "page" | "per_page" | "page_size" | "page_token"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("page".into(), page.to_string()));
    pairs.push(("page_size".into(), per_page.to_string()));
    pairs.push(("page_token".into(), encode_token(page)));
    pairs.push(("per_page".into(), per_page.to_string()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("<{}?{}>; rel=\"{}\"", req.path, query, rel)
}

/// Adds `X-Total-Count` and `Link` for a page of `total` items.
pub fn headers(res: &mut Response, req: &Request, page: Page, total: usize) {
    let per_page = page.per_page.max(1);
    let last = if total == 0 {
        0
    } else {
        (total - 1) / per_page
    };
    let mut links = Vec::new();
    if page.page > 0 {
        links.push(link(req, "first", per_page, 0));
        links.push(link(req, "prev", per_page, (page.page - 1).min(last)));
    }
    if page.page < last {
        links.push(link(req, "next", per_page, page.page + 1));
        links.push(link(req, "last", per_page, last));
    }
    if links.is_empty() {
        links.push(link(req, "first", per_page, 0));
    }
    let h = res.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(&total.to_string()) {
        h.insert("x-total-count", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&links.join(",")) {
        h.insert(http::header::LINK, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str) -> Request {
        Request {
            method: http::Method::GET,
            path: "/schemas".into(),
            query: query.into(),
            headers: Default::default(),
            remote_addr: None,
            body: Default::default(),
            params: vec![],
            request_id: None,
        }
    }

    #[test]
    fn parses_both_styles() {
        assert_eq!(
            parse(&req(""), 1000).unwrap(),
            Page {
                page: 0,
                per_page: 250
            }
        );
        assert_eq!(
            parse(&req("page=2&per_page=5"), 1000).unwrap(),
            Page {
                page: 2,
                per_page: 5
            }
        );
        let token = encode_token(3);
        assert_eq!(
            parse(&req(&format!("page_token={token}&page_size=2")), 1000).unwrap(),
            Page {
                page: 3,
                per_page: 2
            }
        );
        assert_eq!(parse(&req("per_page=5000"), 1000).unwrap().per_page, 1000);
        assert_eq!(parse(&req("per_page=0"), 1000).unwrap().per_page, 1);
        assert!(parse(&req("page_token=%%%"), 1000).is_err());
    }

    #[test]
    fn links_point_to_neighbours() {
        let r = req("page=1&per_page=2");
        let mut res = crate::http::response::empty(http::StatusCode::OK);
        headers(
            &mut res,
            &r,
            Page {
                page: 1,
                per_page: 2,
            },
            5,
        );
        let link = res.headers()["link"].to_str().unwrap().to_string();
        assert!(link.contains("rel=\"first\""));
        assert!(link.contains("rel=\"prev\""));
        assert!(link.contains("rel=\"next\""));
        assert!(link.contains("rel=\"last\""));
        assert_eq!(res.headers()["x-total-count"], "5");
    }
}
