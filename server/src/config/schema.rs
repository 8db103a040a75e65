//! The configuration's JSON Schema, generated from our Rust types (so the types stay the single
//! source of truth), and a validator that reports *every* problem with its key path.
//!
//! The validator understands the subset of JSON Schema that `schemars` emits for our types, plus
//! our custom formats (Go durations, byte sizes). It runs before serde, whose errors stop at the
//! first problem and lack context.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Number, Value};
use url::Url;

use super::model::Config;
use super::values::{
    ByteSize, FORMAT_BOOL_STRING, FORMAT_BYTE_SIZE, FORMAT_DURATION, is_uri_reference,
    parse_go_bool, parse_go_duration,
};

/// The schema of [`Config`], with its subschemas under `$defs`.
pub(crate) fn config_schema() -> &'static Value {
    static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
        SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<Config>()
            .to_value()
    });
    &SCHEMA
}

// ---------------------------------------------------------------------------------------------
// Key paths
// ---------------------------------------------------------------------------------------------

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a key path as `a.b[0].c` (`(root)` for the empty path).
pub(crate) fn display_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    if out.is_empty() {
        "(root)".to_string()
    } else {
        out
    }
}

/// A problem found in the configuration, at a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// What validation found: errors refuse the configuration, `ignored` lists keys in objects that
/// Kratos leaves open (accepted, but they have no effect).
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub errors: Vec<Problem>,
    pub ignored: Vec<Problem>,
}

/// Validates `value` against the configuration schema. Integral floats are normalised to
/// integers where the schema wants an integer (JSON has no distinction; serde does).
pub(crate) fn validate_config(value: &mut Value) -> Report {
    let mut validator = Validator::new();
    validator.check(config_schema(), value, &mut Vec::new());
    validator.report
}

struct Validator {
    report: Report,
    patterns: HashMap<String, Option<Regex>>,
}

impl Validator {
    fn new() -> Self {
        Validator {
            report: Report::default(),
            patterns: HashMap::new(),
        }
    }

    fn error(&mut self, path: &[Seg], message: impl Into<String>) {
        self.report
            .errors
            .push(Problem::new(display_path(path), message));
    }

    fn check(&mut self, schema: &'static Value, value: &mut Value, path: &mut Vec<Seg>) {
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return self.error(path, "not allowed here"),
            Value::Object(schema) => schema,
            _ => return,
        };
        if let Some(target) = schema.get("$ref") {
            self.check(resolve_ref(target), value, path);
        }
        if let Some(Value::Array(branches)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
            self.check_alternatives(branches, value, path);
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for sub in all {
                self.check(sub, value, path);
            }
        }
        if let Some(types) = schema.get("type") {
            if wants_integer(types) {
                normalise_integer(value);
            }
            if !type_matches(types, value) {
                return self.error(
                    path,
                    format!(
                        "expected {}, got {}",
                        describe_types(types),
                        describe_value(value)
                    ),
                );
            }
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.contains(value)
        {
            let choices = options
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return self.error(path, format!("must be one of {choices} (got {value})"));
        }
        if let Some(expected) = schema.get("const")
            && expected != value
        {
            return self.error(path, format!("must be {expected} (got {value})"));
        }
        match value {
            Value::String(text) => self.check_string(schema, text, path),
            Value::Number(number) => self.check_number(schema, number, path),
            Value::Array(items) => self.check_array(schema, items, path),
            Value::Object(map) => self.check_object(schema, map, path),
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// `anyOf`/`oneOf` as schemars emits them: `Option<T>` (T or null), and tagged enums (objects
    /// told apart by a constant property such as `hook` or `type`).
    fn check_alternatives(
        &mut self,
        branches: &'static [Value],
        value: &mut Value,
        path: &mut Vec<Seg>,
    ) {
        let candidates: Vec<&'static Value> = branches
            .iter()
            .map(resolve)
            .filter(|branch| value.is_null() || !is_null_schema(branch))
            .collect();
        if let [only] = candidates.as_slice() {
            return self.check(only, value, path);
        }
        // Enums whose variants carry docs come out as one `const` per variant.
        if let Some(choices) = literal_choices(&candidates) {
            if !choices.contains(&&*value) {
                let listed = choices
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                self.error(path, format!("must be one of {listed} (got {value})"));
            }
            return;
        }
        if let Some((tag, tagged)) = discriminator(&candidates) {
            let Value::Object(map) = value else {
                return self.error(
                    path,
                    format!("expected object, got {}", describe_value(value)),
                );
            };
            let choices = || {
                tagged
                    .iter()
                    .map(|(name, _)| format!("{name:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match map.get(tag) {
                None => {
                    path.push(Seg::Key(tag.to_string()));
                    self.error(path, format!("missing required key (one of {})", choices()));
                    path.pop();
                }
                Some(Value::String(name)) => {
                    match tagged.iter().find(|(candidate, _)| candidate == name) {
                        Some((_, branch)) => self.check(branch, value, path),
                        None => {
                            path.push(Seg::Key(tag.to_string()));
                            self.error(
                                path,
                                format!("unknown value {name:?}, expected one of {}", choices()),
                            );
                            path.pop();
                        }
                    }
                }
                Some(other) => {
                    path.push(Seg::Key(tag.to_string()));
                    self.error(
                        path,
                        format!("expected string, got {}", describe_value(other)),
                    );
                    path.pop();
                }
            }
            return;
        }
        // Generic case: accept the first branch that fits; otherwise report the closest one.
        let mut closest: Option<(&'static Value, usize)> = None;
        for branch in &candidates {
            let mut trial = Validator::new();
            trial.check(branch, &mut value.clone(), &mut path.clone());
            let errors = trial.report.errors.len();
            if errors == 0 {
                return self.check(branch, value, path);
            }
            if closest.is_none_or(|(_, fewest)| errors < fewest) {
                closest = Some((branch, errors));
            }
        }
        if let Some((branch, _)) = closest {
            self.check(branch, value, path);
        }
    }

    fn check_string(&mut self, schema: &Map<String, Value>, text: &str, path: &[Seg]) {
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            self.error(path, format!("must be at least {min} characters long"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            self.error(path, format!("must be at most {max} characters long"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            let regex = self
                .patterns
                .entry(pattern.to_string())
                .or_insert_with(|| Regex::new(pattern).ok());
            if let Some(regex) = regex
                && !regex.is_match(text)
            {
                self.error(path, format!("must match the pattern {pattern:?}"));
            }
        }
        if let Some(format) = schema.get("format").and_then(Value::as_str)
            && let Err(message) = check_format(format, text)
        {
            self.error(path, message);
        }
    }

    fn check_number(&mut self, schema: &Map<String, Value>, number: &Number, path: &[Seg]) {
        let Some(actual) = number.as_f64() else {
            return;
        };
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && actual < min
        {
            self.error(path, format!("must be at least {min} (got {number})"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && actual > max
        {
            self.error(path, format!("must be at most {max} (got {number})"));
        }
    }

    fn check_array(
        &mut self,
        schema: &'static Map<String, Value>,
        items: &mut [Value],
        path: &mut Vec<Seg>,
    ) {
        let count = items.len() as u64;
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            self.error(path, format!("must contain at least {min} item(s)"));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            self.error(path, format!("must contain at most {max} item(s)"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter_mut().enumerate() {
                path.push(Seg::Index(index));
                self.check(item_schema, item, path);
                path.pop();
            }
        }
    }

    fn check_object(
        &mut self,
        schema: &'static Map<String, Value>,
        map: &mut Map<String, Value>,
        path: &mut Vec<Seg>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    path.push(Seg::Key(key.to_string()));
                    self.error(path, "missing required key");
                    path.pop();
                }
            }
        }
        let additional = schema.get("additionalProperties");
        for (key, item) in map.iter_mut() {
            path.push(Seg::Key(key.clone()));
            match (properties.and_then(|p| p.get(key)), additional) {
                (Some(property), _) => self.check(property, item, path),
                (None, Some(Value::Bool(false))) => {
                    let message = match properties.and_then(|p| closest_key(key, p.keys())) {
                        Some(guess) => format!("unknown key (did you mean {guess:?}?)"),
                        None => "unknown key".to_string(),
                    };
                    self.error(path, message);
                }
                (None, Some(additional @ Value::Object(_))) => self.check(additional, item, path),
                (None, _) => {
                    if properties.is_some() {
                        self.report.ignored.push(Problem::new(
                            display_path(path),
                            "unknown key, ignored (Kratos's schema allows extra keys here)",
                        ));
                    }
                }
            }
            path.pop();
        }
    }
}

/// Follows `$ref`. Its siblings in schemars's output are annotations (`default`, docs), except
/// where [`Validator::check`] handles them itself.
fn resolve(schema: &'static Value) -> &'static Value {
    match schema.get("$ref") {
        Some(target) => resolve_ref(target),
        None => schema,
    }
}

fn resolve_ref(target: &Value) -> &'static Value {
    static ACCEPT_ANYTHING: Value = Value::Bool(true);
    target
        .as_str()
        .and_then(|pointer| pointer.strip_prefix('#'))
        .and_then(|pointer| config_schema().pointer(pointer))
        .map_or(&ACCEPT_ANYTHING, resolve)
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// All values allowed when every alternative is a constant (or a list of constants).
fn literal_choices(candidates: &[&'static Value]) -> Option<Vec<&'static Value>> {
    let mut choices = Vec::new();
    for candidate in candidates {
        if let Some(constant) = candidate.get("const") {
            choices.push(constant);
        } else if let Some(Value::Array(options)) = candidate.get("enum") {
            choices.extend(options.iter());
        } else {
            return None;
        }
    }
    Some(choices)
}

/// The property telling the alternatives apart, and each alternative's value for it.
fn discriminator(
    candidates: &[&'static Value],
) -> Option<(&'static str, Vec<(String, &'static Value)>)> {
    let first = candidates.first()?.get("properties")?.as_object()?;
    first.keys().find_map(|key| {
        let tagged: Option<Vec<(String, &'static Value)>> = candidates
            .iter()
            .map(|branch| {
                let property = branch.get("properties")?.get(key.as_str())?;
                let name = property.get("const")?.as_str()?;
                Some((name.to_string(), *branch))
            })
            .collect();
        tagged.map(|tagged| (key.as_str(), tagged))
    })
}

fn types_of(types: &Value) -> Vec<&str> {
    match types {
        Value::String(single) => vec![single.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn wants_integer(types: &Value) -> bool {
    types_of(types).contains(&"integer")
}

fn normalise_integer(value: &mut Value) {
    if let Some(float) = value.as_f64().filter(|_| value.is_f64())
        && float.fract() == 0.0
        && float.abs() < 9.0e15
    {
        *value = Value::Number(Number::from(float as i64));
    }
}

fn type_matches(types: &Value, value: &Value) -> bool {
    types_of(types).iter().any(|expected| match *expected {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    })
}

fn describe_types(types: &Value) -> String {
    let names: Vec<&str> = types_of(types)
        .into_iter()
        .filter(|t| *t != "null")
        .collect();
    names.join(" or ")
}

/// The kind of a value, with the value itself only for numbers and booleans: strings may be
/// secrets put under the wrong key.
fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

fn check_format(format: &str, text: &str) -> Result<(), String> {
    match format {
        FORMAT_DURATION => parse_go_duration(text).map(drop),
        FORMAT_BYTE_SIZE => ByteSize::parse(text).map(drop),
        FORMAT_BOOL_STRING => parse_go_bool(text)
            .map(drop)
            .ok_or_else(|| format!("invalid boolean {text:?} (expected \"true\" or \"false\")")),
        // Not echoing the value: URLs may carry credentials.
        "uri" => Url::parse(text)
            .map(drop)
            .map_err(|err| format!("invalid URI ({err})")),
        "uri-reference" => {
            if is_uri_reference(text) {
                Ok(())
            } else {
                Err(format!("invalid URI reference {text:?}"))
            }
        }
        "email" => {
            let valid = text.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }) && !text.chars().any(char::is_whitespace);
            if valid {
                Ok(())
            } else {
                Err(format!("invalid email address {text:?}"))
            }
        }
        _ => Ok(()),
    }
}

/// A known key close to a mistyped one (edit distance ≤ 2), for "did you mean" hints.
fn closest_key<'a>(key: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    known
        .map(|candidate| (edit_distance(key, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Key paths for environment variables
// ---------------------------------------------------------------------------------------------

/// How an environment variable's text becomes a value for a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeHint {
    String,
    Integer,
    Number,
    Bool,
    /// Arrays of scalars: JSON, or comma-separated values.
    List(ScalarHint),
    /// Objects and arrays of objects: JSON only.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalarHint {
    String,
    Integer,
    Number,
    Bool,
}

/// A step of a key path pattern; `Item` stands for any array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PatternSeg {
    Key(String),
    Item,
}

#[derive(Clone, Debug)]
pub(crate) struct KeyPattern {
    pub segs: Vec<PatternSeg>,
    pub hint: TypeHint,
}

/// Every key path the configuration knows, including paths into array items, in a stable order.
pub(crate) fn key_patterns() -> &'static [KeyPattern] {
    static PATTERNS: LazyLock<Vec<KeyPattern>> = LazyLock::new(|| {
        let mut patterns = Vec::new();
        collect_patterns(config_schema(), &mut Vec::new(), &mut patterns, 0);
        patterns
    });
    &PATTERNS
}

fn collect_patterns(
    schema: &'static Value,
    prefix: &mut Vec<PatternSeg>,
    out: &mut Vec<KeyPattern>,
    depth: usize,
) {
    // Our types are not recursive; the bound only guards against mistakes.
    if depth > 32 {
        return;
    }
    let schema = resolve(schema);
    if let Some(Value::Array(branches)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        let candidates: Vec<&'static Value> = branches
            .iter()
            .map(resolve)
            .filter(|branch| !is_null_schema(branch))
            .collect();
        if let [only] = candidates.as_slice() {
            return collect_patterns(only, prefix, out, depth + 1);
        }
        if let Some(choices) = literal_choices(&candidates) {
            let hint = match choices.first() {
                Some(Value::Bool(_)) => TypeHint::Bool,
                Some(Value::Number(n)) if n.is_f64() => TypeHint::Number,
                Some(Value::Number(_)) => TypeHint::Integer,
                _ => TypeHint::String,
            };
            if !prefix.is_empty() {
                out.push(KeyPattern {
                    segs: prefix.clone(),
                    hint,
                });
            }
            return;
        }
        // Tagged enums (hooks, auth): only settable as a whole, as JSON.
        if !prefix.is_empty() {
            out.push(KeyPattern {
                segs: prefix.clone(),
                hint: TypeHint::Json,
            });
        }
        return;
    }
    let primary = schema.get("type").map(|types| {
        types_of(types)
            .into_iter()
            .find(|t| *t != "null")
            .unwrap_or("null")
    });
    let hint = match primary {
        Some("string") => TypeHint::String,
        Some("integer") => TypeHint::Integer,
        Some("number") => TypeHint::Number,
        Some("boolean") => TypeHint::Bool,
        Some("array") => {
            let items = schema.get("items").map(resolve);
            let item_type = items
                .and_then(|items| items.get("type"))
                .and_then(|types| types_of(types).into_iter().find(|t| *t != "null"));
            match item_type {
                Some("string") => TypeHint::List(ScalarHint::String),
                Some("integer") => TypeHint::List(ScalarHint::Integer),
                Some("number") => TypeHint::List(ScalarHint::Number),
                Some("boolean") => TypeHint::List(ScalarHint::Bool),
                _ => TypeHint::Json,
            }
        }
        _ => TypeHint::Json,
    };
    if !prefix.is_empty() {
        out.push(KeyPattern {
            segs: prefix.clone(),
            hint,
        });
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            prefix.push(PatternSeg::Key(key.clone()));
            collect_patterns(property, prefix, out, depth + 1);
            prefix.pop();
        }
    }
    if primary == Some("array")
        && let Some(items) = schema.get("items")
    {
        prefix.push(PatternSeg::Item);
        collect_patterns(items, prefix, out, depth + 1);
        prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_of(mut value: Value) -> Vec<String> {
        validate_config(&mut value)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn minimal() -> Value {
        json!({
            "dsn": "memory",
            "identity": {"schemas": [{"id": "default", "url": "file:///etc/identity.schema.json"}]},
            "selfservice": {"default_browser_return_url": "http://127.0.0.1:4455/"}
        })
    }

    #[test]
    fn minimal_config_is_valid() {
        assert_eq!(errors_of(minimal()), Vec::<String>::new());
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut config = minimal();
        config["serve"] = json!({"public": {"prot": 4433, "port": 0}, "admin": {"host": 7}});
        config["selfservice"]["flows"] = json!({"login": {"lifespan": "abc", "style": "fancy"}});
        config["hashers"] =
            json!({"algorithm": "md5", "argon2": {"memory": "12XB"}, "bcrypt": {"cost": 99}});
        config["identity"]["schemas"][0]["url"] = json!("not a url");
        config["secrets"] = json!({"default": ["short"]});
        let errors = errors_of(config);
        let expected = [
            "serve.public.prot: unknown key (did you mean \"port\"?)",
            "serve.public.port: must be at least 1 (got 0)",
            "serve.admin.host: expected string, got number 7",
            "selfservice.flows.login.lifespan: invalid duration \"abc\"",
            "selfservice.flows.login.style: must be one of \"unified\", \"identifier_first\" (got \"fancy\")",
            "hashers.algorithm: must be one of \"bcrypt\", \"argon2\" (got \"md5\")",
            "hashers.argon2.memory: invalid byte size \"12XB\": unknown unit \"XB\"",
            "hashers.bcrypt.cost: must be at most 31 (got 99)",
            "identity.schemas[0].url: invalid URI (relative URL without a base)",
            "secrets.default[0]: must be at least 16 characters long",
        ];
        for line in expected {
            assert!(
                errors.iter().any(|e| e == line),
                "missing {line:?} in {errors:#?}"
            );
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    }

    #[test]
    fn missing_required_keys_are_reported() {
        let errors = errors_of(json!({"selfservice": {}}));
        assert!(
            errors.contains(&"dsn: missing required key".to_string()),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"identity: missing required key".to_string()),
            "{errors:?}"
        );
        assert!(
            errors.contains(
                &"selfservice.default_browser_return_url: missing required key".to_string()
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn hooks_are_told_apart_by_their_name() {
        let mut config = minimal();
        config["selfservice"]["flows"] = json!({"login": {"after": {"password": {"hooks": [
            {"hook": "session"},
            {"hook": "web_hook", "config": {"url": "https://hooks.example/login", "method": "POST", "urll": 1}},
            {"hook": "teleport"},
            {"config": {}},
            {"hook": "revoke_active_sessions", "config": {}},
        ]}}}});
        let errors = errors_of(config);
        let prefix = "selfservice.flows.login.after.password.hooks";
        let expected = [
            format!("{prefix}[1].config.urll: unknown key"),
            format!("{prefix}[2].hook: unknown value \"teleport\", expected one of"),
            format!("{prefix}[3].hook: missing required key (one of"),
            format!("{prefix}[4].config: unknown key"),
        ];
        for start in &expected {
            assert!(
                errors.iter().any(|e| e.starts_with(start.as_str())),
                "missing {start:?} in {errors:#?}"
            );
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    }

    #[test]
    fn open_objects_accept_unknown_keys_with_a_note() {
        let mut config = minimal();
        config["security"] = json!({"account_enumeration": {"mitgate": true}});
        let mut value = config;
        let report = validate_config(&mut value);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.ignored.len(), 1);
        assert_eq!(
            report.ignored[0].path,
            "security.account_enumeration.mitgate"
        );
    }

    #[test]
    fn integral_floats_become_integers() {
        let mut config = minimal();
        config["serve"] = json!({"public": {"port": 4433.0}});
        let mut value = config;
        assert!(validate_config(&mut value).errors.is_empty());
        assert!(
            value["serve"]["public"]["port"].is_u64() || value["serve"]["public"]["port"].is_i64()
        );
    }

    #[test]
    fn key_patterns_cover_nested_and_array_keys() {
        let find = |dotted: &str| {
            key_patterns().iter().find(|pattern| {
                let rendered: Vec<String> = pattern
                    .segs
                    .iter()
                    .map(|seg| match seg {
                        PatternSeg::Key(key) => key.clone(),
                        PatternSeg::Item => "#".to_string(),
                    })
                    .collect();
                rendered.join(".") == dotted
            })
        };
        assert_eq!(find("dsn").map(|p| p.hint), Some(TypeHint::String));
        assert_eq!(
            find("serve.public.port").map(|p| p.hint),
            Some(TypeHint::Integer)
        );
        assert_eq!(
            find("selfservice.flows.login.ui_url").map(|p| p.hint),
            Some(TypeHint::String)
        );
        assert_eq!(
            find("secrets.cookie").map(|p| p.hint),
            Some(TypeHint::List(ScalarHint::String))
        );
        assert_eq!(
            find("secrets.cookie.#").map(|p| p.hint),
            Some(TypeHint::String)
        );
        assert_eq!(
            find("identity.schemas").map(|p| p.hint),
            Some(TypeHint::Json)
        );
        assert_eq!(
            find("identity.schemas.#.selfservice_selectable").map(|p| p.hint),
            Some(TypeHint::Bool)
        );
        assert_eq!(
            find("cookies.secure").map(|p| p.hint),
            Some(TypeHint::String)
        );
        assert_eq!(
            find("selfservice.flows.login.after.hooks").map(|p| p.hint),
            Some(TypeHint::Json)
        );
        assert_eq!(find("tracing").map(|p| p.hint), Some(TypeHint::Json));
        assert_eq!(
            find("hashers.algorithm").map(|p| p.hint),
            Some(TypeHint::String)
        );
        assert_eq!(
            find("session.whoami.required_aal").map(|p| p.hint),
            Some(TypeHint::String)
        );
        assert!(find("kratos_rs.kubernetes.identity_schemas.label_selector").is_some());
        assert!(find("kratos_rs.session_cache.ttl").is_some());
        assert_eq!(
            find("kratos_rs.session_cache.enabled").map(|p| p.hint),
            Some(TypeHint::Bool)
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("prot", "port"), 2);
        assert_eq!(edit_distance("port", "port"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
