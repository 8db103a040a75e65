//! Signing and encryption secrets: the Secret the operator generates when none is referenced, and
//! the format check of a referenced one.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kratos_crds::KratosInstance;
use kube::ResourceExt;
use rand::distr::Alphanumeric;
use rand::{CryptoRng, RngExt};

use super::{Component, RenderError, child_labels, names, namespace};

/// Keys of a secrets Secret, and the environment variables they feed (Kratos reads arrays from
/// the environment as JSON).
pub const DEFAULT_KEY: &str = "default";
pub const COOKIE_KEY: &str = "cookie";
pub const CIPHER_KEY: &str = "cipher";

/// Length of generated signing secrets (alphanumeric: ~285 bits).
const SIGNING_SECRET_LENGTH: usize = 48;
/// Kratos's ciphers take keys of exactly 32 characters.
const CIPHER_SECRET_LENGTH: usize = 32;
/// Kratos rejects shorter signing secrets.
const MIN_SIGNING_SECRET_LENGTH: usize = 16;

/// Annotation explaining the generated Secret to whoever finds it.
pub const GENERATED_ANNOTATION: &str = "kratos.rs/generated";

/// The Secret `<instance>-secrets` with random values, created once and never rewritten.
///
/// It deliberately has no ownerReference: the cipher secret decrypts data already stored in the
/// database, so deleting and re-creating the instance must find the same Secret again.
pub fn generated_secrets(
    instance: &KratosInstance,
    rng: &mut impl CryptoRng,
) -> Result<Secret, RenderError> {
    let mut random = |length: usize| -> ByteString {
        let secret: String = rng
            .sample_iter(Alphanumeric)
            .take(length)
            .map(char::from)
            .collect();
        ByteString(serde_json::json!([secret]).to_string().into_bytes())
    };
    let data = BTreeMap::from([
        (DEFAULT_KEY.to_owned(), random(SIGNING_SECRET_LENGTH)),
        (COOKIE_KEY.to_owned(), random(SIGNING_SECRET_LENGTH)),
        (CIPHER_KEY.to_owned(), random(CIPHER_SECRET_LENGTH)),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(names::generated_secrets(&instance.name_any())),
            namespace: Some(namespace(instance)?),
            labels: Some(child_labels(instance, Component::Secrets)),
            annotations: Some(BTreeMap::from([(
                GENERATED_ANNOTATION.to_owned(),
                "by kratos-operator, once; never rotated automatically and kept when the \
                 KratosInstance is deleted (the cipher secret decrypts stored data)"
                    .to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Secret::default()
    })
}

/// Which optional keys a valid secrets Secret provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretsKeys {
    pub cookie: bool,
    pub cipher: bool,
}

/// What is wrong with a secrets Secret. Messages name keys, never values.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretsProblem {
    #[error("key {0} is missing")]
    KeyNotFound(&'static str),
    #[error("key {key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

/// Checks the format of a secrets Secret: `default` required, `cookie` and `cipher` optional,
/// each a non-empty JSON array of strings of the length Kratos accepts.
pub fn check_secrets_data(
    data: &BTreeMap<String, ByteString>,
) -> Result<SecretsKeys, SecretsProblem> {
    let check = |key: &'static str| -> Result<bool, SecretsProblem> {
        let Some(value) = data.get(key) else {
            return Ok(false);
        };
        let invalid = |problem: &str| SecretsProblem::Invalid {
            key,
            problem: problem.to_owned(),
        };
        let entries: Vec<String> = serde_json::from_slice(&value.0)
            .map_err(|_| invalid("must be a JSON array of strings, e.g. [\"new\", \"old\"]"))?;
        if entries.is_empty() {
            return Err(invalid("must hold at least one secret"));
        }
        let length_ok = |entry: &String| {
            let length = entry.chars().count();
            if key == CIPHER_KEY {
                length == CIPHER_SECRET_LENGTH
            } else {
                length >= MIN_SIGNING_SECRET_LENGTH
            }
        };
        if !entries.iter().all(length_ok) {
            return Err(invalid(if key == CIPHER_KEY {
                "every secret must be exactly 32 characters long"
            } else {
                "every secret must be at least 16 characters long"
            }));
        }
        Ok(true)
    };
    if !check(DEFAULT_KEY)? {
        return Err(SecretsProblem::KeyNotFound(DEFAULT_KEY));
    }
    Ok(SecretsKeys {
        cookie: check(COOKIE_KEY)?,
        cipher: check(CIPHER_KEY)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;
    use serde_json::json;

    fn data(entries: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), ByteString(value.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn generated_secrets_are_random_valid_and_unowned() {
        let instance = instance(json!({}));
        let first = generated_secrets(&instance, &mut rand::rng()).unwrap();
        let second = generated_secrets(&instance, &mut rand::rng()).unwrap();
        assert_eq!(first.metadata.name.as_deref(), Some("shop-secrets"));
        assert_eq!(first.metadata.owner_references, None);
        let first_data = first.data.unwrap();
        assert_eq!(
            check_secrets_data(&first_data),
            Ok(SecretsKeys {
                cookie: true,
                cipher: true
            })
        );
        assert_ne!(first_data, second.data.unwrap());
        let cipher: Vec<String> = serde_json::from_slice(&first_data["cipher"].0).unwrap();
        assert_eq!(cipher[0].len(), 32);
        let default: Vec<String> = serde_json::from_slice(&first_data["default"].0).unwrap();
        assert_eq!(default[0].len(), 48);
    }

    #[test]
    fn default_is_required_and_others_optional() {
        assert_eq!(
            check_secrets_data(&data(&[("cookie", r#"["0123456789abcdef"]"#)])),
            Err(SecretsProblem::KeyNotFound("default"))
        );
        assert_eq!(
            check_secrets_data(&data(&[(
                "default",
                r#"["0123456789abcdef", "older-secret-123456"]"#
            )])),
            Ok(SecretsKeys {
                cookie: false,
                cipher: false
            })
        );
    }

    #[test]
    fn formats_and_lengths_are_checked_without_echoing_values() {
        let problem =
            check_secrets_data(&data(&[("default", "plain-text-secret-value")])).unwrap_err();
        assert!(
            problem
                .to_string()
                .starts_with("key default: must be a JSON array")
        );
        assert!(!problem.to_string().contains("plain-text-secret-value"));
        assert!(matches!(
            check_secrets_data(&data(&[("default", r#"["short"]"#)])),
            Err(SecretsProblem::Invalid { key: "default", .. })
        ));
        assert!(matches!(
            check_secrets_data(&data(&[("default", "[]")])),
            Err(SecretsProblem::Invalid { key: "default", .. })
        ));
        assert!(matches!(
            check_secrets_data(&data(&[
                ("default", r#"["0123456789abcdef"]"#),
                ("cipher", r#"["0123456789abcdef"]"#)
            ])),
            Err(SecretsProblem::Invalid { key: "cipher", .. })
        ));
    }
}
