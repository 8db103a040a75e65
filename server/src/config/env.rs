//! Environment variables overriding configuration keys, the way Kratos maps them: the variable
//! name, lower-cased, with `_` read as a key separator, is matched against the known key paths
//! (so `SELFSERVICE_FLOWS_LOGIN_UI_URL` finds `selfservice.flows.login.ui_url` even though the
//! key itself contains underscores). A number stands for an array index (`SECRETS_COOKIE_0`).
//! The target key's type decides how the text is read: numbers and booleans are parsed, arrays
//! and objects take JSON (arrays of scalars also comma-separated values).
//!
//! One deliberate difference: Kratos overwrites a JSON array element by element (leaving the
//! file's extra elements in place); here a variable naming an array replaces the whole array.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{
    KeyPattern, PatternSeg, Problem, ScalarHint, Seg, TypeHint, display_path, key_patterns,
};

/// Applies every environment variable that names a known key to `target`. Variables that name
/// no key are ignored (the process environment holds plenty of unrelated ones); variables whose
/// value does not fit the key are reported.
pub(crate) fn apply_env(target: &mut Value, env: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, raw) in env {
        let Some((path, hint)) = resolve(name) else {
            continue;
        };
        match convert(raw, hint) {
            Ok(value) => set_path(target, &path, value),
            Err(reason) => problems.push(Problem::new(
                display_path(&path),
                format!("{reason} (from environment variable {name})"),
            )),
        }
    }
    problems
}

/// The key path an environment variable names, if any.
pub(crate) fn resolve(name: &str) -> Option<(Vec<Seg>, TypeHint)> {
    let lowered = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lowered.split('_').collect();
    key_patterns()
        .iter()
        .find_map(|pattern| match_pattern(pattern, &tokens).map(|path| (path, pattern.hint)))
}

fn match_pattern(pattern: &KeyPattern, tokens: &[&str]) -> Option<Vec<Seg>> {
    let mut path = Vec::with_capacity(pattern.segs.len());
    let mut rest = tokens;
    for seg in &pattern.segs {
        match seg {
            PatternSeg::Key(key) => {
                for part in key.split('_') {
                    let (first, tail) = rest.split_first()?;
                    if *first != part {
                        return None;
                    }
                    rest = tail;
                }
                path.push(Seg::Key(key.clone()));
            }
            PatternSeg::Item => {
                let (first, tail) = rest.split_first()?;
                if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                path.push(Seg::Index(first.parse().ok()?));
                rest = tail;
            }
        }
    }
    rest.is_empty().then_some(path)
}

fn convert(raw: &str, hint: TypeHint) -> Result<Value, String> {
    match hint {
        TypeHint::String => Ok(Value::String(raw.to_string())),
        TypeHint::Integer => scalar(raw.trim(), ScalarHint::Integer),
        TypeHint::Number => scalar(raw.trim(), ScalarHint::Number),
        TypeHint::Bool => scalar(raw.trim(), ScalarHint::Bool),
        TypeHint::List(item) => {
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) {
                return Ok(Value::Array(items));
            }
            let items = split_csv(raw)
                .into_iter()
                .map(|field| match item {
                    ScalarHint::String => Ok(Value::String(field)),
                    other => scalar(field.trim(), other),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(items))
        }
        TypeHint::Json => serde_json::from_str(raw).map_err(|err| format!("invalid JSON ({err})")),
    }
}

fn scalar(text: &str, hint: ScalarHint) -> Result<Value, String> {
    match hint {
        ScalarHint::String => Ok(Value::String(text.to_string())),
        ScalarHint::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("invalid integer {text:?}")),
        ScalarHint::Number => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("invalid number {text:?}")),
        ScalarHint::Bool => super::values::parse_go_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| format!("invalid boolean {text:?}")),
    }
}

/// Splits one line of comma-separated values; fields may be double-quoted (`"a,b",c`), with
/// `""` for a quote inside a quoted field.
fn split_csv(raw: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Sets `value` at `path`, creating objects and arrays on the way (arrays are padded with
/// nulls, which validation then reports). An object is merged into an existing object.
pub(crate) fn set_path(root: &mut Value, path: &[Seg], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        merge(root, value);
        return;
    };
    let mut node = root;
    for seg in parents {
        node = child(node, seg);
    }
    let slot = child(node, last);
    if slot.is_object() && value.is_object() {
        merge(slot, value);
    } else {
        *slot = value;
    }
}

fn child<'a>(node: &'a mut Value, seg: &Seg) -> &'a mut Value {
    match seg {
        Seg::Key(key) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            match node {
                Value::Object(map) => map.entry(key.clone()).or_insert(Value::Null),
                _ => unreachable_container(),
            }
        }
        Seg::Index(index) => {
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            match node {
                Value::Array(items) => {
                    if items.len() <= *index {
                        items.resize(index + 1, Value::Null);
                    }
                    &mut items[*index]
                }
                _ => unreachable_container(),
            }
        }
    }
}

#[allow(clippy::unreachable)]
fn unreachable_container() -> ! {
    unreachable!("the node was just replaced by a container of the matching type")
}

/// Deep-merges `overlay` into `base`: objects key by key, anything else (arrays included) is
/// replaced. This is how several `-c` files combine.
pub(crate) fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resolves_ambiguous_underscores_against_known_keys() {
        let (path, _) = resolve("SELFSERVICE_FLOWS_LOGIN_UI_URL").unwrap();
        assert_eq!(display_path(&path), "selfservice.flows.login.ui_url");
        let (path, _) =
            resolve("SELFSERVICE_METHODS_CODE_CONFIG_MISSING_CREDENTIAL_FALLBACK_ENABLED").unwrap();
        assert_eq!(
            display_path(&path),
            "selfservice.methods.code.config.missing_credential_fallback_enabled"
        );
        let (path, _) = resolve("SECRETS_COOKIE_0").unwrap();
        assert_eq!(display_path(&path), "secrets.cookie[0]");
        let (path, _) = resolve("IDENTITY_SCHEMAS_1_URL").unwrap();
        assert_eq!(display_path(&path), "identity.schemas[1].url");
        let (path, _) = resolve("KRATOS_RS_KUBERNETES_IDENTITY_SCHEMAS_LABEL_SELECTOR").unwrap();
        assert_eq!(
            display_path(&path),
            "kratos_rs.kubernetes.identity_schemas.label_selector"
        );
        let (path, _) = resolve("KRATOS_RS_SESSION_CACHE_NOTIFIED_TTL").unwrap();
        assert_eq!(display_path(&path), "kratos_rs.session_cache.notified_ttl");
        for unrelated in [
            "PATH",
            "HOME",
            "SERVE_PUBLIC_PORTS",
            "SECRETS_COOKIE_X",
            "LANG",
            "SELFSERVICE_FLOWS_LOGIN_UI",
        ] {
            assert!(
                resolve(unrelated).is_none(),
                "{unrelated} should not resolve"
            );
        }
    }

    #[test]
    fn every_key_has_a_distinct_variable_name() {
        let mut seen = std::collections::BTreeMap::new();
        for pattern in key_patterns() {
            let name: Vec<String> = pattern
                .segs
                .iter()
                .map(|seg| match seg {
                    PatternSeg::Key(key) => key.to_ascii_uppercase(),
                    PatternSeg::Item => "0".to_string(),
                })
                .collect();
            let name = name.join("_");
            if let Some(previous) = seen.insert(name.clone(), pattern.segs.clone()) {
                panic!("{name} names both {previous:?} and {:?}", pattern.segs);
            }
            // And the name resolves back to the key.
            let (path, _) = resolve(&name).unwrap_or_else(|| panic!("{name} does not resolve"));
            assert_eq!(path.len(), pattern.segs.len(), "{name}");
        }
        assert!(seen.len() > 400, "only {} keys", seen.len());
    }

    #[test]
    fn values_are_typed_by_their_key() {
        let mut target =
            json!({"secrets": {"default": ["from-the-file-0000", "another-file-secret"]}});
        let problems = apply_env(
            &mut target,
            &env(&[
                ("DSN", "postgres://u:p@db/kratos"),
                ("SERVE_PUBLIC_PORT", "4455"),
                ("SELFSERVICE_FLOWS_REGISTRATION_ENABLED", "false"),
                (
                    "SECRETS_DEFAULT",
                    r#"["aaaaaaaaaaaaaaaa","bbbbbbbbbbbbbbbb"]"#,
                ),
                ("SECRETS_COOKIE_1", "cccccccccccccccc"),
                (
                    "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS",
                    "https://a.example,https://b.example",
                ),
                ("COURIER_SMTP_HEADERS", r#"{"X-Tag":"kratos"}"#),
                ("UNRELATED", "x"),
            ]),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            target,
            json!({
                "dsn": "postgres://u:p@db/kratos",
                "serve": {"public": {"port": 4455, "cors": {"allowed_origins": ["https://a.example", "https://b.example"]}}},
                "selfservice": {"flows": {"registration": {"enabled": false}}},
                "secrets": {"default": ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"], "cookie": [null, "cccccccccccccccc"]},
                "courier": {"smtp": {"headers": {"X-Tag": "kratos"}}}
            })
        );
    }

    #[test]
    fn unparsable_values_are_reported_with_the_variable() {
        let mut target = json!({});
        let problems = apply_env(
            &mut target,
            &env(&[
                ("SERVE_PUBLIC_PORT", "http"),
                ("DEV", "maybe"),
                ("IDENTITY_SCHEMAS", "[{"),
            ]),
        );
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            rendered.contains(
                &"dev: invalid boolean \"maybe\" (from environment variable DEV)".to_string()
            ),
            "{rendered:?}"
        );
        assert!(rendered.contains(&"serve.public.port: invalid integer \"http\" (from environment variable SERVE_PUBLIC_PORT)".to_string()), "{rendered:?}");
        assert!(
            rendered
                .iter()
                .any(|p| p.starts_with("identity.schemas: invalid JSON")),
            "{rendered:?}"
        );
    }

    #[test]
    fn objects_merge_and_arrays_are_replaced() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2, 3]}, "d": "x"});
        merge(
            &mut base,
            json!({"a": {"c": [9], "e": true}, "d": {"f": 1}}),
        );
        assert_eq!(
            base,
            json!({"a": {"b": 1, "c": [9], "e": true}, "d": {"f": 1}})
        );
    }

    #[test]
    fn csv_fields_may_be_quoted() {
        assert_eq!(split_csv(r#"a,"b,c",d"#), vec!["a", "b,c", "d"]);
        assert_eq!(split_csv(r#""say ""hi""",x"#), vec![r#"say "hi""#, "x"]);
        assert_eq!(split_csv("single"), vec!["single"]);
    }
}
