//! The content hash of a JSON document, as reported in IdentitySchema and KratosInstance status.
//!
//! Defined on the canonical form (object keys sorted, no insignificant whitespace), so it does not
//! depend on key order or formatting: the operator and the servers compute the same hash for the
//! same schema whichever way it was written.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `sha256:` followed by the lowercase hex SHA-256 of the canonical JSON of `value`.
pub fn content_hash(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// Appends the canonical JSON of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"y": 2, "x": "s"}], "a": true}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":true,"b":[1,{"x":"s","y":2}]}"#).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn canonical_form_is_sorted_and_compact() {
        let mut out = String::new();
        write_canonical(&json!({"z": "é\"", "a": [null, 1.5, false]}), &mut out);
        assert_eq!(out, r#"{"a":[null,1.5,false],"z":"é\""}"#);
    }

    #[test]
    fn hash_is_sha256_of_the_canonical_form() {
        // sha256("{}")
        assert_eq!(
            content_hash(&json!({})),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_ne!(
            content_hash(&json!({"a": 1})),
            content_hash(&json!({"a": 2}))
        );
    }
}
