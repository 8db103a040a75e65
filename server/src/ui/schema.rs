//! Form fields generated from an identity schema's traits, as Kratos's profile and password
//! registration forms are: one input per leaf property, typed by JSON type and `format`, labelled
//! by `title`, required when the schema says so.

use serde_json::{Map, Value};

use super::node::{Group, InputType, Node};

/// A leaf of the traits schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitField {
    /// Dotted name, e.g. `traits.name.first`.
    pub name: String,
    pub json_type: String,
    pub format: Option<String>,
    pub pattern: Option<String>,
    pub title: Option<String>,
    pub required: bool,
    pub disabled: bool,
}

/// Every leaf property under `properties.traits`, in schema order. Local `$ref`s are followed.
pub fn trait_fields(schema: &Value) -> Vec<TraitField> {
    let mut out = Vec::new();
    if let Some(traits) = schema.get("properties").and_then(|p| p.get("traits")) {
        walk(schema, traits, "traits", false, &mut out, 0);
    }
    out
}

fn resolve<'a>(root: &'a Value, node: &'a Value, depth: usize) -> &'a Value {
    if depth > 16 {
        return node;
    }
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/") => {
            let pointer = &r[1..];
            match root.pointer(pointer) {
                Some(target) => resolve(root, target, depth + 1),
                None => node,
            }
        }
        _ => node,
    }
}

fn json_type(node: &Value) -> String {
    match node.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_string(),
        _ if node.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    }
}

fn walk(
    root: &Value,
    node: &Value,
    name: &str,
    required: bool,
    out: &mut Vec<TraitField>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    let node = resolve(root, node, 0);
    let t = json_type(node);
    if t == "object" {
        let empty = Map::new();
        let props = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let req: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, child) in props {
            walk(
                root,
                child,
                &format!("{name}.{key}"),
                req.contains(&key.as_str()),
                out,
                depth + 1,
            );
        }
        return;
    }
    if t == "array" {
        // Arrays have no single form field; UIs build them from the schema themselves.
        return;
    }
    out.push(TraitField {
        name: name.to_string(),
        json_type: t,
        format: node
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_string),
        pattern: node
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_string),
        title: node
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string),
        required,
        disabled: node
            .get("disableFormField")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    });
}

/// The form node for a trait field, in `group`.
pub fn node_for(field: &TraitField, group: Group) -> Node {
    let mut input_type = match field.json_type.as_str() {
        "number" | "integer" => InputType::Number,
        "boolean" => InputType::Checkbox,
        _ => InputType::Text,
    };
    let mut autocomplete = None;
    match field.format.as_deref() {
        Some("date-time") => input_type = InputType::DatetimeLocal,
        Some("email") => {
            input_type = InputType::Email;
            autocomplete = Some("email");
        }
        Some("tel") => {
            input_type = InputType::Tel;
            autocomplete = Some("tel");
        }
        Some("date") => input_type = InputType::Date,
        Some("uri") => {
            input_type = InputType::Url;
            autocomplete = Some("url");
        }
        _ => {}
    }
    let mut node = Node::input(field.name.clone(), group, input_type);
    if let Some(a) = node.input_attributes_mut() {
        a.required = field.required;
        a.pattern = field.pattern.clone();
        a.disabled = field.disabled;
        a.autocomplete = autocomplete.map(str::to_string);
    }
    if let Some(title) = &field.title {
        node.meta.label = Some(crate::text::info_node_label_generated(title, &field.name));
    }
    node
}

/// Nodes for all trait fields of a schema.
pub fn trait_nodes(schema: &Value, group: Group) -> Vec<Node> {
    trait_fields(schema)
        .iter()
        .map(|f| node_for(f, group))
        .collect()
}

/// Trait names in schema order, for sorting forms.
pub fn trait_keys(schema: &Value) -> Vec<String> {
    trait_fields(schema).into_iter().map(|f| f.name).collect()
}

/// Form posts carry every value as a string; this converts trait values to the types the schema
/// declares (numbers, integers, booleans), as Kratos's form decoder does. Unconvertible values
/// are left as they are, for schema validation to report.
pub fn coerce_traits(schema: &Value, traits: &mut Value) {
    for field in trait_fields(schema) {
        let path: Vec<&str> = field.name.split('.').skip(1).collect();
        let Some(slot) = lookup_mut(traits, &path) else {
            continue;
        };
        let Value::String(s) = slot else { continue };
        let converted = match field.json_type.as_str() {
            "integer" => s.trim().parse::<i64>().ok().map(Value::from),
            "number" => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
            "boolean" => match s.as_str() {
                "true" | "on" | "1" => Some(Value::Bool(true)),
                "false" | "off" | "0" | "" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        };
        if let Some(v) = converted {
            *slot = v;
        } else if s.is_empty() && field.json_type != "string" {
            *slot = Value::Null;
        }
    }
    strip_nulls(traits);
}

fn lookup_mut<'v>(value: &'v mut Value, path: &[&str]) -> Option<&'v mut Value> {
    let mut cur = value;
    for key in path {
        cur = cur.as_object_mut()?.get_mut(*key)?;
    }
    Some(cur)
}

fn strip_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        for v in map.values_mut() {
            strip_nulls(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_leaves_in_schema_order_with_refs() {
        let schema = json!({
            "definitions": {"name": {"type": "object", "properties": {"last": {"type": "string"}, "first": {"type": "string", "title": "First"}}, "required": ["first"]}},
            "properties": {"traits": {"type": "object", "properties": {
                "email": {"type": "string", "format": "email", "title": "E-Mail"},
                "name": {"$ref": "#/definitions/name"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "newsletter": {"type": "boolean"}
            }, "required": ["email"]}}
        });
        let fields = trait_fields(&schema);
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "traits.email",
                "traits.name.last",
                "traits.name.first",
                "traits.age",
                "traits.newsletter"
            ]
        );
        assert!(fields[0].required && !fields[1].required && fields[2].required);
        let email = node_for(&fields[0], Group::Password);
        let a = email.input_attributes().unwrap();
        assert_eq!(a.input_type, InputType::Email);
        assert_eq!(a.autocomplete.as_deref(), Some("email"));
        assert_eq!(email.meta.label.as_ref().unwrap().id, 1070002);
        assert_eq!(
            node_for(&fields[3], Group::Profile)
                .input_attributes()
                .unwrap()
                .input_type,
            InputType::Number
        );
        assert_eq!(
            node_for(&fields[4], Group::Profile)
                .input_attributes()
                .unwrap()
                .input_type,
            InputType::Checkbox
        );
    }
}
