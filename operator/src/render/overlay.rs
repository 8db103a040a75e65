//! The pod-template escape hatch: user JSON merged over a rendered object.
//!
//! Close to a strategic merge patch for the cases that matter in a pod template, without its
//! per-field schema: objects merge recursively, `null` deletes a key, lists whose items all carry
//! a `name` (containers, volumes, env, volumeMounts, ports) merge item by item on that name, and
//! any other list or scalar replaces what was rendered.

use serde_json::{Map, Value};

/// Merges `overlay` into `base`.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => merge_objects(base, overlay),
        (Value::Array(base), Value::Array(overlay))
            if is_named_list(base) && is_named_list(overlay) =>
        {
            merge_named_lists(base, overlay);
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

fn merge_objects(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        if value.is_null() {
            base.remove(key);
        } else if let Some(existing) = base.get_mut(key) {
            merge(existing, value);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
}

fn item_name(item: &Value) -> Option<&str> {
    item.get("name").and_then(Value::as_str)
}

fn is_named_list(items: &[Value]) -> bool {
    items.iter().all(|item| item_name(item).is_some())
}

fn merge_named_lists(base: &mut Vec<Value>, overlay: &[Value]) {
    for item in overlay {
        let name = item_name(item);
        match base.iter_mut().find(|existing| item_name(existing) == name) {
            Some(existing) => merge(existing, item),
            None => base.push(item.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_and_null_deletes() {
        let mut base = json!({"metadata": {"labels": {"a": "1"}, "annotations": {"x": "y"}}});
        merge(
            &mut base,
            &json!({"metadata": {"labels": {"b": "2"}, "annotations": null}}),
        );
        assert_eq!(base, json!({"metadata": {"labels": {"a": "1", "b": "2"}}}));
    }

    #[test]
    fn named_lists_merge_by_name() {
        let mut base = json!({"containers": [
            {"name": "kratos", "image": "k:1", "env": [{"name": "DSN", "value": "x"}]}
        ]});
        merge(
            &mut base,
            &json!({"containers": [
                {"name": "kratos", "env": [{"name": "LOG_LEVEL", "value": "debug"}]},
                {"name": "proxy", "image": "envoy"}
            ]}),
        );
        assert_eq!(
            base,
            json!({"containers": [
                {"name": "kratos", "image": "k:1", "env": [{"name": "DSN", "value": "x"}, {"name": "LOG_LEVEL", "value": "debug"}]},
                {"name": "proxy", "image": "envoy"}
            ]})
        );
    }

    #[test]
    fn other_lists_and_scalars_replace() {
        let mut base =
            json!({"args": ["serve", "-c", "a"], "replicas": 1, "tolerations": [{"key": "a"}]});
        merge(
            &mut base,
            &json!({"args": ["serve"], "replicas": 2, "tolerations": [{"key": "b"}]}),
        );
        assert_eq!(
            base,
            json!({"args": ["serve"], "replicas": 2, "tolerations": [{"key": "b"}]})
        );
    }
}
