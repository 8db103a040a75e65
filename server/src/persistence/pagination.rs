//! Keyset pagination with Kratos's `page_size` / `page_token` parameters and `Link` headers.
//!
//! Page tokens are opaque to clients: the last key of the page plus an expiry, signed with
//! `secrets.pagination` (falling back to `secrets.default`) so that they cannot be forged or kept
//! forever. Kratos encrypts them; a signature gives the same guarantees for keys that are already
//! visible in the page itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::error::{ApiError, Result};
use crate::http::Request;

pub const DEFAULT_PAGE_SIZE: usize = 250;
pub const MAX_PAGE_SIZE: usize = 1000;
const TOKEN_LIFETIME_SECS: i64 = 3600;

/// What a list endpoint was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub size: usize,
    /// The key of the last item of the previous page, in the listing's own shape.
    pub after: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct TokenBody {
    /// The last key of the previous page.
    k: Value,
    /// Expiry, seconds since the epoch.
    e: i64,
}

/// Signs and verifies page tokens.
#[derive(Clone)]
pub struct PageTokens {
    keys: Vec<Vec<u8>>,
}

impl PageTokens {
    /// `secrets` are tried in order when verifying (rotation); the first one signs.
    pub fn new(secrets: &[String]) -> Self {
        let mut keys: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        if keys.is_empty() {
            keys.push(b"kratos-rs-pagination".to_vec());
        }
        PageTokens { keys }
    }

    fn mac(key: &[u8], body: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(body);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }

    pub fn encode(&self, last_key: &Value) -> String {
        let body = TokenBody {
            k: last_key.clone(),
            e: chrono::Utc::now().timestamp() + TOKEN_LIFETIME_SECS,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let sig = Self::mac(&self.keys[0], &json);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    pub fn decode(&self, token: &str) -> Result<Value> {
        let invalid = || {
            ApiError::bad_request()
                .with_reason("The page token is invalid, do not craft page tokens yourself.")
        };
        let (body, sig) = token.split_once('.').ok_or_else(invalid)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| invalid())?;
        let valid = self.keys.iter().any(|k| {
            let expected = Self::mac(k, &json);
            subtle::ConstantTimeEq::ct_eq(expected.as_slice(), sig.as_slice()).into()
        });
        if !valid {
            return Err(invalid().into());
        }
        let body: TokenBody = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if body.e < chrono::Utc::now().timestamp() {
            return Err(ApiError::bad_request()
                .with_reason("page token expired, do not persist page tokens")
                .into());
        }
        Ok(body.k)
    }

    /// Parses `page_size` and `page_token` from the query.
    pub fn parse(
        &self,
        req: &Request,
        default_size: usize,
        max_size: usize,
    ) -> Result<PageRequest> {
        let size = match req.query_param("page_size").filter(|s| !s.is_empty()) {
            None => default_size,
            Some(s) => s.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::bad_request().with_reason(format!(
                    "The page_size parameter must be an integer between 1 and {max_size}."
                ))
            })?,
        }
        .min(max_size);
        let after = match req.query_param("page_token").filter(|s| !s.is_empty()) {
            None => None,
            Some(token) => Some(self.decode(&token)?),
        };
        Ok(PageRequest { size, after })
    }

    /// The `Link` header: `first` always, `next` when there is another page.
    pub fn link_header(&self, req: &Request, size: usize, next_key: Option<&Value>) -> String {
        let first = self.encode(&Value::Null);
        let mut parts = vec![link_part(req, &first, size, "first")];
        if let Some(key) = next_key {
            parts.push(link_part(req, &self.encode(key), size, "next"));
        }
        parts.join(",")
    }
}

fn link_part(req: &Request, token: &str, size: usize, rel: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query.as_bytes())
        .filter(|(k, _)| k != "page_token" && k != "page_size")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("page_size".into(), size.to_string()));
    pairs.push(("page_token".into(), token.to_string()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("<{}?{}>; rel=\"{}\"", req.path, query, rel)
}

/// Splits a fetched page of `size + 1` rows into the page and the key of its last item if there
/// is a next page.
pub fn finish_page<T>(
    mut rows: Vec<T>,
    size: usize,
    key: impl Fn(&T) -> Value,
) -> (Vec<T>, Option<Value>) {
    if rows.len() > size {
        rows.truncate(size);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgery() {
        let tokens = PageTokens::new(&["secret-one-is-long-enough".into()]);
        let key = serde_json::json!("8b5d7c1e-0000-4000-8000-000000000000");
        let t = tokens.encode(&key);
        assert_eq!(tokens.decode(&t).unwrap(), key);
        let other = PageTokens::new(&["another-secret-entirely".into()]);
        assert!(other.decode(&t).is_err());
        assert!(tokens.decode("garbage").is_err());
        let (body, _) = t.split_once('.').unwrap();
        assert!(tokens.decode(&format!("{body}.AAAA")).is_err());
        // Rotation: a token signed with the old first key still verifies.
        let rotated = PageTokens::new(&[
            "new-secret-value-here".into(),
            "secret-one-is-long-enough".into(),
        ]);
        assert_eq!(rotated.decode(&t).unwrap(), key);
    }

    #[test]
    fn pages_are_split_with_a_next_key() {
        let (page, next) = finish_page(vec![1, 2, 3], 2, |i| serde_json::json!(i));
        assert_eq!(page, vec![1, 2]);
        assert_eq!(next, Some(serde_json::json!(2)));
        let (page, next) = finish_page(vec![1, 2], 2, |i| serde_json::json!(i));
        assert_eq!(page.len(), 2);
        assert!(next.is_none());
    }
}
