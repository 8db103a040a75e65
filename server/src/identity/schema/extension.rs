//! The `ory.sh/kratos` extension of identity schemas: its structure (checked when a schema is
//! loaded, so a broken extension is refused up front) and the walk that finds, for a document that
//! passed JSON Schema validation, every value an extension applies to.
//!
//! The walk follows `properties`, `patternProperties`, `additionalProperties`, `items` (list and
//! tuple forms), `prefixItems`, `additionalItems`, `allOf` and `$ref`. An extension under `anyOf`,
//! `oneOf`, `not`, `if`/`then`/`else` or `dependencies` would apply only conditionally; such schemas
//! are refused at load with a clear error instead of being half-supported.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The key of the extension in a schema node.
pub const EXTENSION_KEY: &str = "ory.sh/kratos";

/// A channel for codes, verification and recovery (ordered as their names: email < sms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Email,
    Sms,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Email => "email",
            Via::Sms => "sms",
        }
    }

    fn parse(value: &str) -> Option<Via> {
        match value {
            "email" => Some(Via::Email),
            "sms" => Some(Via::Sms),
            _ => None,
        }
    }
}

/// One node's `ory.sh/kratos` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionConfig {
    pub password_identifier: bool,
    pub webauthn_identifier: bool,
    pub passkey_display_name: bool,
    pub totp_account_name: bool,
    pub code_identifier: bool,
    /// `credentials.code.via`; required when `code_identifier` is set (checked at load).
    pub code_via: Option<Via>,
    pub verification_via: Option<Via>,
    pub recovery_via: Option<Via>,
    /// `organizations.matcher` (only `email_domain` exists).
    pub organizations_matcher: Option<String>,
}

type Check<T> = Result<T, String>;

fn object<'a>(value: &'a Value, at: &str) -> Check<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| format!("{at}: expected an object"))
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Check<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "{at}: unknown key {unknown:?} (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn flag(map: &Map<String, Value>, key: &str, at: &str) -> Check<bool> {
    match map.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{at}/{key}: expected a boolean")),
    }
}

fn via(map: &Map<String, Value>, at: &str) -> Check<Option<Via>> {
    match map.get("via") {
        None => Ok(None),
        Some(Value::String(s)) => Via::parse(s)
            .map(Some)
            .ok_or_else(|| format!("{at}/via: must be \"email\" or \"sms\", got {s:?}")),
        Some(_) => Err(format!("{at}/via: expected a string")),
    }
}

impl ExtensionConfig {
    /// Parses and checks an extension value; `at` names its location in errors.
    pub fn parse(value: &Value, at: &str) -> Check<ExtensionConfig> {
        let root = object(value, at)?;
        only_keys(
            root,
            &["credentials", "verification", "recovery", "organizations"],
            at,
        )?;
        let mut cfg = ExtensionConfig::default();
        if let Some(creds) = root.get("credentials") {
            let at = format!("{at}/credentials");
            let creds = object(creds, &at)?;
            only_keys(
                creds,
                &["password", "webauthn", "passkey", "totp", "code"],
                &at,
            )?;
            let section =
                |name: &str, keys: &[&str]| -> Check<Option<(&Map<String, Value>, String)>> {
                    match creds.get(name) {
                        None => Ok(None),
                        Some(v) => {
                            let at = format!("{at}/{name}");
                            let map = object(v, &at)?;
                            only_keys(map, keys, &at)?;
                            Ok(Some((map, at)))
                        }
                    }
                };
            if let Some((m, at)) = section("password", &["identifier"])? {
                cfg.password_identifier = flag(m, "identifier", &at)?;
            }
            if let Some((m, at)) = section("webauthn", &["identifier"])? {
                cfg.webauthn_identifier = flag(m, "identifier", &at)?;
            }
            if let Some((m, at)) = section("passkey", &["display_name"])? {
                cfg.passkey_display_name = flag(m, "display_name", &at)?;
            }
            if let Some((m, at)) = section("totp", &["account_name"])? {
                cfg.totp_account_name = flag(m, "account_name", &at)?;
            }
            if let Some((m, at)) = section("code", &["identifier", "via"])? {
                cfg.code_identifier = flag(m, "identifier", &at)?;
                cfg.code_via = via(m, &at)?;
                if cfg.code_identifier && cfg.code_via.is_none() {
                    // Kratos would reject every identity at validation time; say so at load.
                    return Err(format!(
                        "{at}/via: required when identifier is true (\"email\" or \"sms\")"
                    ));
                }
            }
        }
        for (name, slot) in [
            ("verification", &mut cfg.verification_via),
            ("recovery", &mut cfg.recovery_via),
        ] {
            if let Some(v) = root.get(name) {
                let at = format!("{at}/{name}");
                let map = object(v, &at)?;
                only_keys(map, &["via"], &at)?;
                *slot = via(map, &at)?;
            }
        }
        if let Some(v) = root.get("organizations") {
            let at = format!("{at}/organizations");
            let map = object(v, &at)?;
            only_keys(map, &["matcher"], &at)?;
            cfg.organizations_matcher = match map.get("matcher") {
                None => None,
                Some(Value::String(s)) if s == "email_domain" => Some(s.clone()),
                Some(_) => return Err(format!("{at}/matcher: must be \"email_domain\"")),
            };
        }
        Ok(cfg)
    }
}

/// Formats a property under `verification` may declare (Kratos's identity meta schema).
const VERIFICATION_FORMATS: [&str; 6] =
    ["email", "tel", "date", "time", "date-time", "no-validate"];

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape_pointer_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Keywords whose subschemas apply only conditionally: extensions must not appear below them.
const CONDITIONAL: [&str; 7] = [
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependencies",
];

/// The documents of one identity schema: the root and every external document it references.
#[derive(Debug, Clone)]
pub struct Documents {
    /// The root document's location (its configured URL), used to resolve relative references.
    pub root_uri: String,
    pub root: Value,
    /// External documents by their absolute URI (without fragment).
    pub external: HashMap<String, Value>,
    /// Compiled `patternProperties` expressions, by source.
    pub patterns: HashMap<String, regex::Regex>,
}

/// A value an extension applies to, found by [`Documents::collect`].
#[derive(Debug, Clone)]
pub struct Hit<'v> {
    pub config: ExtensionConfig,
    /// JSON pointer of the value in the validated document, e.g. `#/traits/email`.
    pub pointer: String,
    /// JSON pointer of the schema node carrying the extension.
    pub schema_pointer: String,
    /// The node's `format` keyword, if a string.
    pub format: Option<String>,
    pub value: &'v Value,
}

/// Resolves `reference` against `base` (both URIs); fragments are kept.
pub fn resolve_uri(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    if let Ok(base_url) = url::Url::parse(base)
        && matches!(base_url.scheme(), "http" | "https" | "file")
        && let Ok(joined) = base_url.join(reference)
    {
        return joined.to_string();
    }
    // `file://./dir/a.json` style (relative file URLs, as Kratos accepts them).
    if let Some(path) = base.strip_prefix("file://") {
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "",
        };
        return format!("file://{dir}{reference}");
    }
    reference.to_string()
}

fn split_fragment(reference: &str) -> (&str, &str) {
    match reference.split_once('#') {
        Some((doc, fragment)) => (doc, fragment),
        None => (reference, ""),
    }
}

fn pointer_get<'a>(root: &'a Value, fragment: &str) -> Option<&'a Value> {
    if fragment.is_empty() {
        return Some(root);
    }
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
    if !decoded.starts_with('/') {
        return None; // plain-name anchors are not followed
    }
    root.pointer(&decoded)
}

/// Where the walk is in the schema documents.
#[derive(Clone)]
struct Cursor<'d> {
    doc_uri: String,
    doc: &'d Value,
    node: &'d Value,
    /// Pointer of `node` inside its document, for error messages (`#/properties/...`).
    pointer: String,
}

/// Bounds `$ref`/`allOf` steps that do not descend into the instance, so that a schema referring
/// to itself cannot loop forever.
const MAX_SCHEMA_HOPS: usize = 64;

impl Documents {
    fn document(&self, uri: &str) -> Option<&Value> {
        if uri.is_empty() || uri == self.root_uri {
            return Some(&self.root);
        }
        self.external.get(uri)
    }

    fn follow<'d>(&'d self, from: &Cursor<'d>, reference: &str) -> Option<Cursor<'d>> {
        let (doc_part, fragment) = split_fragment(reference);
        let (doc_uri, doc) = if doc_part.is_empty() {
            (from.doc_uri.clone(), from.doc)
        } else {
            let uri = resolve_uri(&from.doc_uri, doc_part);
            let doc = self.document(&uri)?;
            (uri, doc)
        };
        let node = pointer_get(doc, fragment)?;
        Some(Cursor {
            doc_uri,
            doc,
            node,
            pointer: format!("#{fragment}"),
        })
    }

    /// Checks the structure of every extension reachable from the root, that verification
    /// properties declare a supported format, and that no extension sits under a conditional
    /// keyword. Also checks the top-level shape Kratos requires (`properties.traits`).
    pub fn check(&self) -> Check<()> {
        let root = object(&self.root, "#")?;
        let traits = root
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| p.get("traits"))
            .ok_or("#/properties/traits: an identity schema must define the traits object")?;
        let traits = object(traits, "#/properties/traits")?;
        if let Some(t) = traits.get("type")
            && t != "object"
        {
            return Err("#/properties/traits/type: must be \"object\"".into());
        }
        match traits.get("properties").and_then(Value::as_object) {
            Some(props) if !props.is_empty() => {}
            _ => {
                return Err(
                    "#/properties/traits/properties: the traits object must define at least one property"
                        .into(),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        self.check_node(
            Cursor {
                doc_uri: self.root_uri.clone(),
                doc: &self.root,
                node: &self.root,
                pointer: "#".into(),
            },
            false,
            &mut seen,
        )
    }

    fn check_node<'d>(
        &'d self,
        cur: Cursor<'d>,
        conditional: bool,
        seen: &mut std::collections::HashSet<(String, String, bool)>,
    ) -> Check<()> {
        if !seen.insert((cur.doc_uri.clone(), cur.pointer.clone(), conditional)) {
            return Ok(());
        }
        let Some(map) = cur.node.as_object() else {
            return Ok(());
        };
        if let Some(ext) = map.get(EXTENSION_KEY) {
            let at = format!("{}/{}", cur.pointer, escape_pointer_token(EXTENSION_KEY));
            let cfg = ExtensionConfig::parse(ext, &at)?;
            if conditional {
                return Err(format!(
                    "{at}: the ory.sh/kratos extension is not supported below anyOf, oneOf, not, if/then/else or dependencies"
                ));
            }
            if cfg.verification_via.is_some()
                && let Some(format) = map.get("format")
            {
                let ok = format
                    .as_str()
                    .is_some_and(|f| VERIFICATION_FORMATS.contains(&f));
                if !ok {
                    return Err(format!(
                        "{}/format: a property used for verification must have one of the formats {}",
                        cur.pointer,
                        VERIFICATION_FORMATS.join(", ")
                    ));
                }
            }
        }
        if let Some(Value::String(reference)) = map.get("$ref") {
            match self.follow(&cur, reference) {
                Some(target) => self.check_node(target, conditional, seen)?,
                None => {
                    return Err(format!(
                        "{}/$ref: cannot resolve {reference:?}",
                        cur.pointer
                    ));
                }
            }
        }
        for (key, value) in map {
            if key == EXTENSION_KEY || key == "$ref" || key == "enum" || key == "const" {
                continue;
            }
            let child_conditional = conditional || CONDITIONAL.contains(&key.as_str());
            let base = format!("{}/{}", cur.pointer, escape_pointer_token(key));
            match value {
                Value::Object(obj) => {
                    // Keyword holding one schema, or a map of schemas (properties, definitions...).
                    let holds_map = matches!(
                        key.as_str(),
                        "properties"
                            | "patternProperties"
                            | "definitions"
                            | "$defs"
                            | "dependencies"
                            | "dependentSchemas"
                    );
                    if holds_map {
                        for (name, sub) in obj {
                            self.check_node(
                                Cursor {
                                    pointer: format!("{base}/{}", escape_pointer_token(name)),
                                    node: sub,
                                    ..cur.clone()
                                },
                                child_conditional,
                                seen,
                            )?;
                        }
                    } else {
                        self.check_node(
                            Cursor {
                                pointer: base,
                                node: value,
                                ..cur.clone()
                            },
                            child_conditional,
                            seen,
                        )?;
                    }
                }
                Value::Array(items) => {
                    for (i, sub) in items.iter().enumerate() {
                        self.check_node(
                            Cursor {
                                pointer: format!("{base}/{i}"),
                                node: sub,
                                ..cur.clone()
                            },
                            child_conditional,
                            seen,
                        )?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every value of `instance` (the validated `{"traits": ...}` document) an extension applies
    /// to, in document order of the schema.
    pub fn collect<'v>(&self, instance: &'v Value) -> Vec<Hit<'v>> {
        let mut hits = Vec::new();
        self.walk(
            Cursor {
                doc_uri: self.root_uri.clone(),
                doc: &self.root,
                node: &self.root,
                pointer: "#".into(),
            },
            instance,
            "#".into(),
            0,
            &mut hits,
        );
        hits
    }

    fn walk<'d, 'v>(
        &'d self,
        cur: Cursor<'d>,
        instance: &'v Value,
        at: String,
        hops: usize,
        hits: &mut Vec<Hit<'v>>,
    ) {
        if hops > MAX_SCHEMA_HOPS {
            return;
        }
        let Some(map) = cur.node.as_object() else {
            return;
        };
        if let Some(ext) = map.get(EXTENSION_KEY)
            && let Ok(config) = ExtensionConfig::parse(ext, "")
        {
            hits.push(Hit {
                config,
                pointer: at.clone(),
                schema_pointer: cur.pointer.clone(),
                format: map
                    .get("format")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                value: instance,
            });
        }
        if let Some(Value::String(reference)) = map.get("$ref")
            && let Some(target) = self.follow(&cur, reference)
        {
            self.walk(target, instance, at.clone(), hops + 1, hits);
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for (i, sub) in all.iter().enumerate() {
                let next = Cursor {
                    pointer: format!("{}/allOf/{i}", cur.pointer),
                    node: sub,
                    ..cur.clone()
                };
                self.walk(next, instance, at.clone(), hops + 1, hits);
            }
        }
        match instance {
            Value::Object(fields) => self.walk_object(&cur, map, fields, &at, hits),
            Value::Array(items) => self.walk_array(&cur, map, items, &at, hits),
            _ => {}
        }
    }

    fn walk_object<'d, 'v>(
        &'d self,
        cur: &Cursor<'d>,
        map: &'d Map<String, Value>,
        fields: &'v Map<String, Value>,
        at: &str,
        hits: &mut Vec<Hit<'v>>,
    ) {
        let props = map.get("properties").and_then(Value::as_object);
        let patterns = map.get("patternProperties").and_then(Value::as_object);
        let additional = map.get("additionalProperties").filter(|v| v.is_object());
        // Schema order first (Kratos's field order follows the schema), then the rest.
        let mut matched = std::collections::HashSet::new();
        if let Some(props) = props {
            for (name, sub) in props {
                if let Some(value) = fields.get(name) {
                    matched.insert(name.as_str());
                    let token = escape_pointer_token(name);
                    self.walk(
                        Cursor {
                            pointer: format!("{}/properties/{token}", cur.pointer),
                            node: sub,
                            ..cur.clone()
                        },
                        value,
                        format!("{at}/{token}"),
                        0,
                        hits,
                    );
                }
            }
        }
        for (name, value) in fields {
            let token = escape_pointer_token(name);
            let mut by_pattern = false;
            if let Some(patterns) = patterns {
                for (pattern, sub) in patterns {
                    if self
                        .patterns
                        .get(pattern)
                        .is_some_and(|re| re.is_match(name))
                    {
                        by_pattern = true;
                        self.walk(
                            Cursor {
                                pointer: format!(
                                    "{}/patternProperties/{}",
                                    cur.pointer,
                                    escape_pointer_token(pattern)
                                ),
                                node: sub,
                                ..cur.clone()
                            },
                            value,
                            format!("{at}/{token}"),
                            0,
                            hits,
                        );
                    }
                }
            }
            if !by_pattern
                && !matched.contains(name.as_str())
                && let Some(sub) = additional
            {
                self.walk(
                    Cursor {
                        pointer: format!("{}/additionalProperties", cur.pointer),
                        node: sub,
                        ..cur.clone()
                    },
                    value,
                    format!("{at}/{token}"),
                    0,
                    hits,
                );
            }
        }
    }

    fn walk_array<'d, 'v>(
        &'d self,
        cur: &Cursor<'d>,
        map: &'d Map<String, Value>,
        items: &'v [Value],
        at: &str,
        hits: &mut Vec<Hit<'v>>,
    ) {
        // Tuple forms: `prefixItems` (2020-12) or `items: [...]` (draft 7), then the rest.
        let (tuple, tuple_key, rest, rest_key) = match (map.get("prefixItems"), map.get("items")) {
            (Some(Value::Array(prefix)), rest) => (Some(prefix), "prefixItems", rest, "items"),
            (_, Some(Value::Array(tuple))) => (
                Some(tuple),
                "items",
                map.get("additionalItems"),
                "additionalItems",
            ),
            (_, rest) => (None, "", rest, "items"),
        };
        for (i, value) in items.iter().enumerate() {
            let (node, pointer) = match tuple {
                Some(tuple) if i < tuple.len() => {
                    (&tuple[i], format!("{}/{tuple_key}/{i}", cur.pointer))
                }
                _ => match rest {
                    Some(sub) if sub.is_object() => (sub, format!("{}/{rest_key}", cur.pointer)),
                    _ => continue,
                },
            };
            self.walk(
                Cursor {
                    pointer,
                    node,
                    ..cur.clone()
                },
                value,
                format!("{at}/{i}"),
                0,
                hits,
            );
        }
    }
}

/// Dotted path of a JSON pointer (`#/traits/name/first` → `traits.name.first`), the form UI node
/// names take.
pub fn pointer_to_dotted(pointer: &str) -> String {
    pointer
        .trim_start_matches('#')
        .split('/')
        .filter(|t| !t.is_empty())
        .map(unescape_pointer_token)
        .collect::<Vec<_>>()
        .join(".")
}

/// Appends a property name to a JSON pointer.
pub fn pointer_push(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_pointer_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs(root: Value) -> Documents {
        Documents {
            root_uri: "base64://test".into(),
            root,
            external: HashMap::new(),
            patterns: HashMap::new(),
        }
    }

    #[test]
    fn parses_and_refuses_bad_extensions() {
        let cfg = ExtensionConfig::parse(
            &json!({"credentials": {"password": {"identifier": true}, "code": {"identifier": true, "via": "sms"}}, "verification": {"via": "email"}}),
            "#",
        )
        .unwrap();
        assert!(cfg.password_identifier && cfg.code_identifier);
        assert_eq!(cfg.code_via, Some(Via::Sms));
        assert_eq!(cfg.verification_via, Some(Via::Email));
        for (bad, needle) in [
            (
                json!({"credentials": {"password": {"identifier": "yes"}}}),
                "expected a boolean",
            ),
            (
                json!({"credentials": {"pasword": {}}}),
                "unknown key \"pasword\"",
            ),
            (
                json!({"recovery": {"via": "pigeon"}}),
                "must be \"email\" or \"sms\"",
            ),
            (
                json!({"credentials": {"code": {"identifier": true}}}),
                "required when identifier",
            ),
            (json!([]), "expected an object"),
        ] {
            let err = ExtensionConfig::parse(&bad, "#/x").unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn check_requires_traits_and_refuses_conditional_extensions() {
        assert!(docs(json!({"type": "object"})).check().is_err());
        assert!(
            docs(json!({"properties": {"traits": {"type": "object", "properties": {}}}}))
                .check()
                .is_err()
        );
        let conditional = docs(
            json!({"properties": {"traits": {"type": "object", "properties": {
                "a": {"anyOf": [{"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}]}
            }}}}),
        );
        assert!(
            conditional
                .check()
                .unwrap_err()
                .contains("not supported below anyOf")
        );
        let bad_format = docs(
            json!({"properties": {"traits": {"type": "object", "properties": {
                "a": {"type": "string", "format": "uri", "ory.sh/kratos": {"verification": {"via": "email"}}}
            }}}}),
        );
        assert!(bad_format.check().unwrap_err().contains("/format"));
    }

    #[test]
    fn walk_follows_refs_items_and_all_of() {
        let d = docs(json!({
            "definitions": {"email": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}},
            "properties": {"traits": {"type": "object", "properties": {
                "email": {"$ref": "#/definitions/email"},
                "emails": {"type": "array", "items": {"allOf": [{"$ref": "#/definitions/email"}]}},
                "name": {"type": "string"}
            }}}
        }));
        d.check().unwrap();
        let instance =
            json!({"traits": {"email": "a@b.c", "emails": ["x@y.z", "q@r.s"], "name": "n"}});
        let hits = d.collect(&instance);
        let pointers: Vec<_> = hits.iter().map(|h| h.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["#/traits/email", "#/traits/emails/0", "#/traits/emails/1"]
        );
        assert_eq!(hits[1].value, "x@y.z");
    }

    #[test]
    fn uris_and_pointers() {
        assert_eq!(
            resolve_uri("file://./schemas/a.json", "b.json"),
            "file://./schemas/b.json"
        );
        assert_eq!(
            resolve_uri("https://x.test/s/a.json", "../b.json#/c"),
            "https://x.test/b.json#/c"
        );
        assert_eq!(
            pointer_to_dotted("#/traits/name~1x/first"),
            "traits.name/x.first"
        );
        assert_eq!(pointer_push("#/traits", "a/b"), "#/traits/a~1b");
    }
}
