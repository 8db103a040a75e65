//! Checks that an identity schema is usable by a Kratos server.
//!
//! Three layers, each reporting problems located by JSON Pointers into the schema document:
//! 1. it is a valid JSON Schema (meta-schema of its declared draft, draft-07 by default, and it
//!    compiles: references resolve locally, patterns are valid regular expressions);
//! 2. it describes identity traits: `properties.traits` is an object schema with properties, and
//!    traits used for verification have a format Kratos can verify;
//! 3. every `ory.sh/kratos` extension object has the documented shape.
//!
//! The operator runs this on every IdentitySchema; servers can run the same check before
//! accepting a schema, so both agree on what "valid" means.

use jsonschema::Draft;
use serde_json::{Map, Value};

use crate::identity_schema::SchemaValidationError;

/// The extension keyword Kratos reads from identity schemas.
pub const EXTENSION_KEY: &str = "ory.sh/kratos";

/// At most this many problems are reported; the rest are summarised in a final entry.
pub const MAX_REPORTED_PROBLEMS: usize = 25;

/// Formats Kratos can send verification messages to.
const VERIFIABLE_FORMATS: &[&str] = &["email", "tel", "date", "time", "date-time", "no-validate"];

/// Checks `schema` and returns its problems; an empty list means it is usable.
pub fn check_identity_schema(schema: &Value) -> Vec<SchemaValidationError> {
    let mut problems = Problems::default();
    let Some(root) = schema.as_object() else {
        problems.push("", "an identity schema must be a JSON object");
        return problems.finish();
    };
    match draft_of(root) {
        Ok(draft) => check_json_schema(schema, draft, &mut problems),
        Err(message) => problems.push("/$schema", message),
    }
    check_traits(root, &mut problems);
    check_extensions(schema, &mut String::new(), &mut problems);
    problems.finish()
}

/// The JSON Schema draft declared by `$schema`; Kratos treats schemas without one as draft-07.
fn draft_of(root: &Map<String, Value>) -> Result<Draft, String> {
    let Some(declared) = root.get("$schema") else {
        return Ok(Draft::Draft7);
    };
    let uri = declared.as_str().unwrap_or_default();
    let normalized = uri.trim_end_matches('#').replace("https://", "http://");
    let draft = match normalized.as_str() {
        "http://json-schema.org/draft-04/schema" => Draft::Draft4,
        "http://json-schema.org/draft-06/schema" => Draft::Draft6,
        "http://json-schema.org/draft-07/schema" => Draft::Draft7,
        "http://json-schema.org/draft/2019-09/schema" => Draft::Draft201909,
        "http://json-schema.org/draft/2020-12/schema" => Draft::Draft202012,
        _ => {
            return Err(format!(
                "unsupported $schema {declared}: use draft-04, -06, -07, 2019-09 or 2020-12"
            ));
        }
    };
    Ok(draft)
}

fn check_json_schema(schema: &Value, draft: Draft, problems: &mut Problems) {
    let meta = match draft {
        Draft::Draft4 => jsonschema::draft4::meta::validator(),
        Draft::Draft6 => jsonschema::draft6::meta::validator(),
        Draft::Draft201909 => jsonschema::draft201909::meta::validator(),
        Draft::Draft202012 => jsonschema::draft202012::meta::validator(),
        _ => jsonschema::draft7::meta::validator(),
    };
    let before = problems.len();
    for error in meta.iter_errors(schema) {
        problems.push(error.instance_path().as_str(), error.to_string());
    }
    if problems.len() > before {
        // Compiling a schema that breaks its meta-schema only repeats the same problems.
        return;
    }
    // Without the resolve-http/resolve-file features, remote references fail here instead of
    // being fetched: the operator must not make requests to URLs taken from user input.
    if let Err(error) = jsonschema::options().with_draft(draft).build(schema) {
        problems.push(
            error.instance_path().as_str(),
            format!("does not compile: {error}"),
        );
    }
}

fn check_traits(root: &Map<String, Value>, problems: &mut Problems) {
    let Some(traits) = root
        .get("properties")
        .and_then(|properties| properties.get("traits"))
    else {
        problems.push(
            "/properties",
            "an identity schema must define properties.traits",
        );
        return;
    };
    let Some(traits) = traits.as_object() else {
        problems.push("/properties/traits", "traits must be a schema object");
        return;
    };
    if let Some(kind) = traits.get("type")
        && kind != "object"
    {
        problems.push("/properties/traits/type", "traits must be of type object");
    }
    let trait_properties = traits.get("properties").and_then(Value::as_object);
    match trait_properties {
        None => problems.push(
            "/properties/traits",
            "traits must define properties (at least one trait)",
        ),
        Some(properties) if properties.is_empty() => problems.push(
            "/properties/traits/properties",
            "traits must define at least one property",
        ),
        Some(properties) => {
            for (name, property) in properties {
                check_verifiable_format(name, property, problems);
            }
        }
    }
}

/// A trait marked for verification needs a format the courier can address (or `no-validate`).
fn check_verifiable_format(name: &str, property: &Value, problems: &mut Problems) {
    let verified = property
        .get(EXTENSION_KEY)
        .and_then(|extension| extension.get("verification"))
        .is_some();
    if !verified {
        return;
    }
    if let Some(format) = property.get("format")
        && !VERIFIABLE_FORMATS.iter().any(|allowed| format == *allowed)
    {
        problems.push(
            &format!(
                "/properties/traits/properties/{}/format",
                escape_pointer(name)
            ),
            format!(
                "a trait used for verification must have format {}",
                VERIFIABLE_FORMATS.join(", ")
            ),
        );
    }
}

/// Shape of the `ory.sh/kratos` extension: which keys exist and what their values must be.
enum Shape {
    Object(&'static [(&'static str, Shape)]),
    Boolean,
    OneOf(&'static [&'static str]),
}

const VIA: Shape = Shape::OneOf(&["email", "sms"]);

const EXTENSION: Shape = Shape::Object(&[
    (
        "credentials",
        Shape::Object(&[
            ("password", Shape::Object(&[("identifier", Shape::Boolean)])),
            ("webauthn", Shape::Object(&[("identifier", Shape::Boolean)])),
            (
                "passkey",
                Shape::Object(&[("display_name", Shape::Boolean)]),
            ),
            ("totp", Shape::Object(&[("account_name", Shape::Boolean)])),
            (
                "code",
                Shape::Object(&[("identifier", Shape::Boolean), ("via", VIA)]),
            ),
        ]),
    ),
    ("verification", Shape::Object(&[("via", VIA)])),
    ("recovery", Shape::Object(&[("via", VIA)])),
    (
        "organizations",
        Shape::Object(&[("matcher", Shape::OneOf(&["email_domain"]))]),
    ),
]);

/// Finds every `ory.sh/kratos` object, at any depth, and checks its shape.
fn check_extensions(value: &Value, pointer: &mut String, problems: &mut Problems) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(key));
                if key == EXTENSION_KEY {
                    check_shape(child, &EXTENSION, pointer, problems);
                } else {
                    check_extensions(child, pointer, problems);
                }
                pointer.truncate(length);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                check_extensions(item, pointer, problems);
                pointer.truncate(length);
            }
        }
        _ => {}
    }
}

fn check_shape(value: &Value, shape: &Shape, pointer: &mut String, problems: &mut Problems) {
    match shape {
        Shape::Boolean => {
            if !value.is_boolean() {
                problems.push(pointer, "must be true or false");
            }
        }
        Shape::OneOf(allowed) => {
            if !allowed.iter().any(|candidate| value == *candidate) {
                problems.push(pointer, format!("must be one of: {}", allowed.join(", ")));
            }
        }
        Shape::Object(fields) => {
            let Some(map) = value.as_object() else {
                problems.push(pointer, "must be an object");
                return;
            };
            for (key, child) in map {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(key));
                match fields.iter().find(|(name, _)| name == key) {
                    Some((_, child_shape)) => check_shape(child, child_shape, pointer, problems),
                    None => {
                        let known: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
                        problems.push(
                            pointer,
                            format!("unknown {EXTENSION_KEY} key; known: {}", known.join(", ")),
                        );
                    }
                }
                pointer.truncate(length);
            }
        }
    }
}

/// Escapes a key for use as a JSON Pointer token (RFC 6901: `~` → `~0`, `/` → `~1`).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[derive(Default)]
struct Problems(Vec<SchemaValidationError>);

impl Problems {
    fn push(&mut self, pointer: &str, message: impl Into<String>) {
        let pointer = pointer.to_owned();
        let message = message.into();
        if !self
            .0
            .iter()
            .any(|seen| seen.pointer == pointer && seen.message == message)
        {
            self.0.push(SchemaValidationError { pointer, message });
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn finish(mut self) -> Vec<SchemaValidationError> {
        if self.0.len() > MAX_REPORTED_PROBLEMS {
            let hidden = self.0.len() - (MAX_REPORTED_PROBLEMS - 1);
            self.0.truncate(MAX_REPORTED_PROBLEMS - 1);
            self.0.push(SchemaValidationError {
                pointer: String::new(),
                message: format!("{hidden} more problems not listed"),
            });
        }
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email_password() -> Value {
        json!({
            "$id": "https://schemas.example.com/email-password.json",
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Person",
            "type": "object",
            "properties": {
                "traits": {
                    "type": "object",
                    "properties": {
                        "email": {
                            "type": "string",
                            "format": "email",
                            "ory.sh/kratos": {
                                "credentials": {
                                    "password": {"identifier": true},
                                    "code": {"identifier": true, "via": "email"}
                                },
                                "verification": {"via": "email"},
                                "recovery": {"via": "email"}
                            }
                        }
                    },
                    "required": ["email"],
                    "additionalProperties": false
                }
            }
        })
    }

    fn pointers(problems: &[SchemaValidationError]) -> Vec<&str> {
        problems
            .iter()
            .map(|problem| problem.pointer.as_str())
            .collect()
    }

    #[test]
    fn a_well_formed_schema_has_no_problems() {
        assert_eq!(check_identity_schema(&email_password()), vec![]);
    }

    #[test]
    fn the_schema_must_be_an_object() {
        let problems = check_identity_schema(&json!(true));
        assert_eq!(pointers(&problems), vec![""]);
    }

    #[test]
    fn meta_schema_violations_are_located() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["email"]["type"] = json!("text");
        let problems = check_identity_schema(&schema);
        assert!(
            pointers(&problems).contains(&"/properties/traits/properties/email/type"),
            "{problems:?}"
        );
    }

    #[test]
    fn invalid_regular_expressions_do_not_compile() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["email"]["pattern"] = json!("([a-z");
        let problems = check_identity_schema(&schema);
        assert!(!problems.is_empty());
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("compile") || p.pointer.contains("pattern"))
        );
    }

    #[test]
    fn remote_references_are_not_fetched() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["name"] =
            json!({"$ref": "https://schemas.example.com/name.json"});
        let problems = check_identity_schema(&schema);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("does not compile"),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_meta_schemas_are_rejected() {
        let mut schema = email_password();
        schema["$schema"] = json!("https://example.com/my-meta");
        assert_eq!(pointers(&check_identity_schema(&schema)), vec!["/$schema"]);
    }

    #[test]
    fn traits_are_required() {
        let problems = check_identity_schema(&json!({"type": "object", "properties": {}}));
        assert_eq!(pointers(&problems), vec!["/properties"]);

        let problems = check_identity_schema(&json!({
            "properties": {"traits": {"type": "string", "properties": {}}}
        }));
        assert_eq!(
            pointers(&problems),
            vec!["/properties/traits/type", "/properties/traits/properties"]
        );
    }

    #[test]
    fn extension_keys_and_values_are_checked() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["email"]["ory.sh/kratos"] = json!({
            "credentials": {"password": {"identifier": "yes"}, "magic": {}},
            "verification": {"via": "pigeon"},
            "recovery": "email",
            "extra": 1
        });
        let problems = check_identity_schema(&schema);
        let base = "/properties/traits/properties/email/ory.sh~1kratos";
        let expected: Vec<String> = [
            "/credentials/magic",
            "/credentials/password/identifier",
            "/extra",
            "/recovery",
            "/verification/via",
        ]
        .iter()
        .map(|suffix| format!("{base}{suffix}"))
        .collect();
        let mut found: Vec<&str> = pointers(&problems);
        found.sort_unstable();
        assert_eq!(found, expected, "{problems:?}");
    }

    #[test]
    fn extensions_are_found_at_any_depth() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["address"] = json!({
            "type": "object",
            "properties": {"zip": {"type": "string", "ory.sh/kratos": {"totp": {}}}}
        });
        let problems = check_identity_schema(&schema);
        assert_eq!(
            pointers(&problems),
            vec!["/properties/traits/properties/address/properties/zip/ory.sh~1kratos/totp"]
        );
    }

    #[test]
    fn verified_traits_need_an_addressable_format() {
        let mut schema = email_password();
        schema["properties"]["traits"]["properties"]["email"]["format"] = json!("uri");
        let problems = check_identity_schema(&schema);
        assert_eq!(
            pointers(&problems),
            vec!["/properties/traits/properties/email/format"]
        );
    }

    #[test]
    fn the_number_of_reported_problems_is_bounded() {
        let mut properties = Map::new();
        for index in 0..40 {
            properties.insert(
                format!("t{index}"),
                json!({"ory.sh/kratos": {"bogus": true}}),
            );
        }
        let schema =
            json!({"properties": {"traits": {"type": "object", "properties": properties}}});
        let problems = check_identity_schema(&schema);
        assert_eq!(problems.len(), MAX_REPORTED_PROBLEMS);
        assert_eq!(
            problems[MAX_REPORTED_PROBLEMS - 1].message,
            "16 more problems not listed"
        );
    }
}
