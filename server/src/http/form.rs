//! Decoding of `application/x-www-form-urlencoded` bodies into JSON, the way Kratos's decoder maps
//! dotted field names (`traits.name.first`) onto nested objects.

use serde_json::{Map, Value};

/// Decodes a form body into a JSON object. Dotted keys become nested objects; a repeated key
/// becomes an array. Values stay strings: the caller coerces them with the identity schema.
pub fn decode(body: &str) -> Value {
    let mut root = Map::new();
    for (key, value) in url::form_urlencoded::parse(body.as_bytes()) {
        insert(&mut root, &key, Value::String(value.into_owned()));
    }
    Value::Object(root)
}

fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let mut parts = key.split('.').peekable();
    let mut node = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            match node.get_mut(part) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let previous = existing.take();
                    *existing = Value::Array(vec![previous, value]);
                }
                None => {
                    node.insert(part.to_string(), value);
                }
            }
            return;
        }
        let entry = node
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        node = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_dotted_keys_and_collects_repeats() {
        let v = decode("method=password&traits.email=a%40b.c&traits.name.first=Ann&tags=a&tags=b");
        assert_eq!(v["method"], "password");
        assert_eq!(v["traits"]["email"], "a@b.c");
        assert_eq!(v["traits"]["name"]["first"], "Ann");
        assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
    }
}
