//! Validating traits against a compiled schema, and extracting what the `ory.sh/kratos`
//! extension declares: credential identifiers, code addresses, verifiable and recovery addresses.

use serde_json::Value;

use super::extension::{Documents, Hit, Via, pointer_push};
use super::formats;
use crate::identity::validation::{ValidationError, ValidationErrors, Violation};

/// An address that can receive one-time codes (`credentials.code`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodeAddress {
    /// Normalised: lower-cased e-mail or E.164 phone number.
    pub address: String,
    pub channel: Via,
}

/// What the extension found in valid traits. Lists keep schema order and hold no duplicates.
/// A credential type whose list is empty was not declared by any present trait; Kratos leaves
/// such credentials' identifiers untouched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// `credentials.password.identifier`, lower-cased and trimmed.
    pub password_identifiers: Vec<String>,
    /// `credentials.webauthn.identifier`, lower-cased and trimmed.
    pub webauthn_identifiers: Vec<String>,
    /// `credentials.code`, sorted by address then channel (as Kratos stores them).
    pub code_addresses: Vec<CodeAddress>,
    /// `verification.via`: normalised value and channel.
    pub verifiable_addresses: Vec<(String, Via)>,
    /// `recovery.via`: normalised value and channel.
    pub recovery_addresses: Vec<(String, Via)>,
    /// `credentials.totp.account_name`: the first such trait's value.
    pub totp_account_name: Option<String>,
    /// `credentials.passkey.display_name`: the first such trait's value.
    pub passkey_display_name: Option<String>,
    /// Traits marked `organizations.matcher: email_domain`, lower-cased domains.
    pub organization_email_domains: Vec<String>,
}

impl Extracted {
    /// The code credential's identifiers: its addresses, without duplicates.
    pub fn code_identifiers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in &self.code_addresses {
            if !out.contains(&a.address) {
                out.push(a.address.clone());
            }
        }
        out
    }
}

/// Kratos renders extension values with `%s`: strings as they are, anything else as JSON here.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

pub(super) fn validate(
    validator: &jsonschema::Validator,
    docs: &Documents,
    traits: &Value,
) -> Result<Extracted, ValidationErrors> {
    let instance = serde_json::json!({ "traits": traits });
    let mut errors = Vec::new();
    for e in validator.iter_errors(&instance) {
        map_error(&e, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    let mut out = Extracted::default();
    for hit in docs.collect(&instance) {
        apply(&hit, &mut out, &mut errors);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ValidationErrors(errors))
    }
}

fn format_error(hit: &Hit<'_>, violation: Violation) -> ValidationError {
    ValidationError::new(
        hit.pointer.clone(),
        format!("{}/format", hit.schema_pointer),
        violation,
    )
}

fn apply(hit: &Hit<'_>, out: &mut Extracted, errors: &mut Vec<ValidationError>) {
    let cfg = &hit.config;
    let raw = text(hit.value);
    if cfg.password_identifier {
        push_unique(&mut out.password_identifiers, raw.trim().to_lowercase());
    }
    if cfg.webauthn_identifier {
        push_unique(&mut out.webauthn_identifiers, raw.trim().to_lowercase());
    }
    if cfg.totp_account_name && out.totp_account_name.is_none() {
        out.totp_account_name = Some(raw.clone());
    }
    if cfg.passkey_display_name && out.passkey_display_name.is_none() {
        out.passkey_display_name = Some(raw.clone());
    }
    if cfg.code_identifier
        && let Some(channel) = cfg.code_via
    {
        let address = match channel {
            Via::Email if raw.contains('@') => Some(raw.trim().to_lowercase()),
            Via::Email => Some(raw.clone()),
            Via::Sms => formats::parse_phone(&raw),
        };
        match address {
            Some(address) => {
                let a = CodeAddress { address, channel };
                if !out.code_addresses.contains(&a) {
                    out.code_addresses.push(a);
                    out.code_addresses.sort();
                }
            }
            None => errors.push(ValidationError::new(
                hit.pointer.clone(),
                pointer_push(&hit.schema_pointer, super::extension::EXTENSION_KEY),
                Violation::Generic {
                    reason: "the provided number is not a valid phone number".into(),
                },
            )),
        }
    }
    if let Some(via) = cfg.verification_via {
        match hit.format.as_deref() {
            None | Some("") => match via {
                Via::Email if !hit.value.as_str().is_some_and(formats::is_email) => {
                    errors.push(format_error(hit, Violation::Email { value: raw.clone() }));
                    return;
                }
                Via::Email => {
                    push_unique(
                        &mut out.verifiable_addresses,
                        (raw.trim().to_lowercase(), via),
                    );
                }
                Via::Sms => {
                    errors.push(format_error(
                        hit,
                        Violation::Generic {
                            reason: "no format specified. A format is required if verification is enabled. If this was intentional, please set \"format\" to \"no-validate\"".into(),
                        },
                    ));
                    return;
                }
            },
            Some("email") => push_unique(
                &mut out.verifiable_addresses,
                (raw.trim().to_lowercase(), via),
            ),
            Some(_) => push_unique(&mut out.verifiable_addresses, (raw.trim().to_string(), via)),
        }
    }
    match cfg.recovery_via {
        Some(Via::Email) => {
            if hit.value.as_str().is_some_and(formats::is_email) {
                push_unique(
                    &mut out.recovery_addresses,
                    (raw.trim().to_lowercase(), Via::Email),
                );
            } else {
                errors.push(format_error(hit, Violation::Email { value: raw.clone() }));
            }
        }
        Some(Via::Sms) => {
            if hit.value.as_str().is_some_and(formats::is_phone) {
                push_unique(
                    &mut out.recovery_addresses,
                    (raw.trim().to_string(), Via::Sms),
                );
            } else {
                errors.push(format_error(hit, Violation::Phone { value: raw.clone() }));
            }
        }
        None => {}
    }
    if cfg.organizations_matcher.as_deref() == Some("email_domain")
        && let Some((_, domain)) = raw.rsplit_once('@')
    {
        push_unique(
            &mut out.organization_email_domains,
            domain.trim().to_lowercase(),
        );
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn quote_list<'a>(items: impl Iterator<Item = &'a Value>) -> String {
    items.map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

fn map_error(e: &jsonschema::ValidationError<'_>, out: &mut Vec<ValidationError>) {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let pointer = format!("#{}", e.instance_path().as_str());
    let schema_pointer = format!("#{}", e.schema_path().as_str());
    let instance: &Value = e.instance();
    let number = instance.as_f64().unwrap_or(0.0);
    let generic = |reason: String| Violation::Generic { reason };
    let violation = match e.kind() {
        K::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string);
            out.push(ValidationError::new(
                pointer_push(&pointer, &name),
                schema_pointer,
                Violation::Required { property: name },
            ));
            return;
        }
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            let before = out.len();
            for branch in context {
                for inner in branch {
                    map_error(inner, out);
                }
            }
            if out.len() > before {
                return;
            }
            generic(format!("{} failed", e.kind().keyword()))
        }
        K::Type { kind } => {
            let allowed = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            Violation::WrongType {
                allowed_types: allowed,
                actual_type: json_type(instance).into(),
            }
        }
        K::MinLength { limit } => Violation::MinLength {
            min_length: *limit,
            actual_length: instance.as_str().map_or(0, |s| s.chars().count() as u64),
        },
        K::MaxLength { limit } => Violation::MaxLength {
            max_length: *limit,
            actual_length: instance.as_str().map_or(0, |s| s.chars().count() as u64),
        },
        K::Pattern { pattern } => Violation::InvalidFormat {
            pattern: pattern.clone(),
        },
        K::Minimum { limit } => Violation::Minimum {
            minimum: limit.as_f64().unwrap_or(0.0),
            actual: number,
        },
        K::ExclusiveMinimum { limit } => Violation::ExclusiveMinimum {
            minimum: limit.as_f64().unwrap_or(0.0),
            actual: number,
        },
        K::Maximum { limit } => Violation::Maximum {
            maximum: limit.as_f64().unwrap_or(0.0),
            actual: number,
        },
        K::ExclusiveMaximum { limit } => Violation::ExclusiveMaximum {
            maximum: limit.as_f64().unwrap_or(0.0),
            actual: number,
        },
        K::MultipleOf { multiple_of } => Violation::MultipleOf {
            base: *multiple_of,
            actual: number,
        },
        K::MaxItems { limit } => Violation::MaxItems {
            max_items: *limit,
            actual_items: instance.as_array().map_or(0, |a| a.len() as u64),
        },
        K::MinItems { limit } => Violation::MinItems {
            min_items: *limit,
            actual_items: instance.as_array().map_or(0, |a| a.len() as u64),
        },
        K::UniqueItems => {
            let (index_a, index_b) = first_duplicate(instance).unwrap_or((0, 0));
            Violation::UniqueItems { index_a, index_b }
        }
        K::Constant { expected_value } => match expected_value.as_ref() {
            Value::Object(_) | Value::Array(_) => Violation::ConstGeneric,
            v => Violation::Const {
                expected: v.to_string(),
            },
        },
        K::Format { format } => {
            let value = instance
                .as_str()
                .map_or_else(|| instance.to_string(), str::to_string);
            match format.as_str() {
                "email" => Violation::Email { value },
                "tel" => Violation::Phone { value },
                other => generic(format!("{value:?} is not valid {other:?}")),
            }
        }
        K::AdditionalProperties { unexpected } => generic(format!(
            "additionalProperties {} not allowed",
            unexpected
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        K::Enum { options } => generic(format!(
            "value must be one of {}",
            match options.as_ref() {
                Value::Array(items) => quote_list(items.iter()),
                other => other.to_string(),
            }
        )),
        K::MinProperties { limit } => generic(format!(
            "minimum {limit} properties allowed, but found {} properties",
            instance.as_object().map_or(0, |o| o.len())
        )),
        K::MaxProperties { limit } => generic(format!(
            "maximum {limit} properties allowed, but found {} properties",
            instance.as_object().map_or(0, |o| o.len())
        )),
        K::Not { .. } => generic("not failed".into()),
        K::FalseSchema => generic("always fail".into()),
        K::Contains => generic("contains failed".into()),
        K::AdditionalItems { limit } => generic(format!(
            "only {limit} items are allowed, but found {} items",
            instance.as_array().map_or(0, |a| a.len())
        )),
        _ => generic(e.to_string()),
    };
    out.push(ValidationError::new(pointer, schema_pointer, violation));
}

fn first_duplicate(value: &Value) -> Option<(usize, usize)> {
    let items = value.as_array()?;
    for (i, a) in items.iter().enumerate() {
        for (j, b) in items.iter().enumerate().skip(i + 1) {
            if a == b {
                return Some((i, j));
            }
        }
    }
    None
}

/// A JSON value that keeps object key order, for the few places where schema order matters.
enum Ordered {
    Object(Vec<(String, Ordered)>),
    String(String),
    Other,
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    entries.push((k, v));
                }
                Ok(Ordered::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Ordered, A::Error> {
                while seq.next_element::<Ordered>()?.is_some() {}
                Ok(Ordered::Other)
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::String(v.to_string()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl Ordered {
    fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Dotted leaf paths in schema order, as Kratos computes them for ordering form fields: object
/// nodes contribute their `properties` in order, anything else is a leaf. Dots in keys are
/// escaped as `\.`.
pub(super) fn field_order(raw: &[u8]) -> Vec<String> {
    fn walk(node: &Ordered, parents: &mut Vec<String>, out: &mut Vec<String>) {
        let is_object = matches!(node.get("type"), Some(Ordered::String(t)) if t == "object");
        if is_object {
            if let Some(Ordered::Object(props)) = node.get("properties") {
                for (key, sub) in props {
                    parents.push(key.replace('.', "\\."));
                    walk(sub, parents, out);
                    parents.pop();
                }
            }
        } else {
            out.push(parents.join("."));
        }
    }
    let Ok(root) = serde_json::from_slice::<Ordered>(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(&root, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_follows_the_document() {
        let raw = br#"{"type":"object","properties":{"traits":{"type":"object","properties":{
            "zeta":{"type":"string"},"alpha":{"type":"object","properties":{"b":{},"a":{}}},"x.y":{"type":"string"}}}}}"#;
        assert_eq!(
            field_order(raw),
            [
                "traits.zeta",
                "traits.alpha.b",
                "traits.alpha.a",
                "traits.x\\.y"
            ]
        );
    }
}
