//! Reading schema documents from `file://`, `base64://` and `http(s)://` locations, and the
//! external documents they reference.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::extension::resolve_uri;

/// Schemas larger than this are refused (Kratos reads at most 1 MiB).
pub const MAX_SCHEMA_BYTES: usize = 1 << 20;
/// How long fetching one schema over HTTP may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on external documents one schema may pull in (transitively).
const MAX_EXTERNAL_DOCUMENTS: usize = 32;

/// Fetches schema documents.
#[derive(Clone)]
pub struct Loader {
    http: reqwest::Client,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Loader { http }
    }

    /// The raw bytes at `url`.
    pub async fn read(&self, url: &str) -> Result<Vec<u8>, String> {
        let url = url.trim();
        if let Some(encoded) = url.strip_prefix("base64://") {
            return decode_base64(encoded);
        }
        if let Some(path) = url.strip_prefix("file://") {
            let path = path.split('#').next().unwrap_or(path);
            let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            let bytes = tokio::fs::read(path.as_ref())
                .await
                .map_err(|e| format!("could not read schema file {path}: {e}"))?;
            if bytes.len() > MAX_SCHEMA_BYTES {
                return Err(format!(
                    "the schema file is larger than {MAX_SCHEMA_BYTES} bytes"
                ));
            }
            return Ok(bytes);
        }
        if url.starts_with("http://") || url.starts_with("https://") {
            return self.fetch(url).await;
        }
        Err(format!(
            "unsupported schema URL {url:?}: use file://, base64://, http:// or https://"
        ))
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("could not fetch schema from {url}: {e}"))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "could not fetch schema from {url}: HTTP status {}",
                res.status()
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| format!("could not read schema from {url}: {e}"))?
        {
            if body.len() + chunk.len() > MAX_SCHEMA_BYTES {
                return Err(format!(
                    "the schema at {url} is larger than {MAX_SCHEMA_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Fetches every external document `root` references (transitively), keyed by absolute URI.
    pub async fn external_documents(
        &self,
        root_uri: &str,
        root: &Value,
    ) -> Result<HashMap<String, Value>, String> {
        let mut docs = HashMap::new();
        let mut pending: Vec<String> = external_refs(root_uri, root);
        while let Some(uri) = pending.pop() {
            if uri == root_uri || docs.contains_key(&uri) {
                continue;
            }
            if docs.len() >= MAX_EXTERNAL_DOCUMENTS {
                return Err(format!(
                    "the schema references more than {MAX_EXTERNAL_DOCUMENTS} external documents"
                ));
            }
            let bytes = self
                .read(&uri)
                .await
                .map_err(|e| format!("referenced document {uri}: {e}"))?;
            let doc: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("referenced document {uri} is not valid JSON: {e}"))?;
            pending.extend(external_refs(&uri, &doc));
            docs.insert(uri, doc);
        }
        Ok(docs)
    }
}

/// Standard base64 as Kratos expects, tolerating missing padding and the URL-safe alphabet.
fn decode_base64(encoded: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let encoded = encoded.trim();
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        if let Ok(bytes) = engine.decode(encoded) {
            return Ok(bytes);
        }
    }
    Err("could not decode the base64:// schema: invalid base64".into())
}

/// Absolute URIs (without fragment) of the documents `doc` references, other than itself.
/// Meta-schema references (`$schema`) are not followed: drafts are known to the validator.
fn external_refs(doc_uri: &str, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_refs(doc, &mut |reference| {
        let (target, _) = reference.split_once('#').unwrap_or((reference, ""));
        if target.is_empty() {
            return;
        }
        let absolute = resolve_uri(doc_uri, target);
        if !out.contains(&absolute) {
            out.push(absolute);
        }
    });
    out
}

fn collect_refs(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => f(r),
                    ("enum" | "const" | "examples" | "default", _) => {}
                    _ => collect_refs(v, f),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_base64_and_files() {
        let loader = Loader::new();
        assert_eq!(
            loader.read("base64://eyJhIjoxfQ==").await.unwrap(),
            b"{\"a\":1}"
        );
        assert_eq!(
            loader.read("base64://eyJhIjoxfQ").await.unwrap(),
            b"{\"a\":1}"
        );
        assert!(loader.read("base64://%%%").await.is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, b"{}").unwrap();
        let url = format!("file://{}", path.display());
        assert_eq!(loader.read(&url).await.unwrap(), b"{}");
        let err = loader
            .read("file:///does/not/exist.json")
            .await
            .unwrap_err();
        assert!(err.contains("could not read schema file"), "{err}");
        assert!(
            loader
                .read("ftp://x")
                .await
                .unwrap_err()
                .contains("unsupported")
        );
    }

    #[test]
    fn finds_external_refs() {
        let doc = serde_json::json!({
            "properties": {
                "a": {"$ref": "#/definitions/a"},
                "b": {"$ref": "other.json#/definitions/b"},
                "c": {"$ref": "https://x.test/c.json"},
                "d": {"enum": [{"$ref": "not-a-ref.json"}]}
            }
        });
        let refs = external_refs("file:///s/main.json", &doc);
        assert_eq!(refs, ["file:///s/other.json", "https://x.test/c.json"]);
    }
}
