//! The server configuration: `kratos.yml` rendered from `spec.config` plus the keys the operator
//! owns, and the ConfigMap carrying it together with the selected identity schemas.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kratos_crds::KratosInstance;
use kratos_crds::kratos_instance::{ADMIN_CONTAINER_PORT, PUBLIC_CONTAINER_PORT};
use kube::ResourceExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Component, RenderError, child_meta, names, namespace};

/// Where the ConfigMap is mounted in server and courier pods.
pub const CONFIG_DIR: &str = "/etc/kratos";
/// The configuration file the server is started with (`serve -c ...`).
pub const CONFIG_FILE: &str = "/etc/kratos/kratos.yml";
/// ConfigMap key of the configuration file.
pub const KRATOS_YML_KEY: &str = "kratos.yml";

/// Keys holding credentials: never rendered into a ConfigMap, they come from Secrets via env.
const CREDENTIAL_KEYS: &[&[&str]] = &[
    &["dsn"],
    &["secrets"],
    &["courier", "smtp", "connection_uri"],
];

/// A required key of Kratos's configuration that the operator cannot choose for the user.
const REQUIRED_KEYS: &[&[&str]] = &[&["selfservice", "default_browser_return_url"]];

/// An identity schema selected for an instance, as rendered into its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ServedSchema {
    /// `spec.id` of the IdentitySchema.
    pub id: String,
    /// Name of the IdentitySchema object.
    pub source: String,
    /// The JSON Schema.
    pub content: Value,
    /// [`kratos_crds::content_hash`] of `content`.
    pub content_hash: String,
    pub selfservice_selectable: bool,
}

/// ConfigMap key of a schema file.
pub fn schema_key(id: &str) -> String {
    format!("{id}.schema.json")
}

/// Path of a schema file relative to [`CONFIG_DIR`].
pub fn schema_path(id: &str) -> String {
    format!("schemas/{}", schema_key(id))
}

/// URL of a schema file as kratos.yml references it.
pub fn schema_url(id: &str) -> String {
    format!("file://{CONFIG_DIR}/{}", schema_path(id))
}

/// The rendered kratos.yml and the user keys that were dropped or overridden on the way.
#[derive(Debug, PartialEq)]
pub struct RenderedConfig {
    pub kratos_yml: String,
    /// Dotted paths from spec.config that the operator removed (credentials) or replaced (keys
    /// it owns), for a warning event.
    pub dropped_keys: Vec<String>,
}

/// Why spec.config cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("spec.config must set {0}")]
    MissingRequiredKey(String),
    #[error("{0}")]
    Render(String),
}

impl From<RenderError> for ConfigError {
    fn from(error: RenderError) -> Self {
        Self::Render(error.to_string())
    }
}

/// Renders kratos.yml: spec.config with credentials removed and the operator's keys merged over.
pub fn render_kratos_yml(
    instance: &KratosInstance,
    schemas: &[ServedSchema],
    default_schema_id: &str,
    schema_selector: &str,
) -> Result<RenderedConfig, ConfigError> {
    let mut config = instance.spec.config.clone().unwrap_or_default();
    let mut dropped_keys = Vec::new();
    for path in CREDENTIAL_KEYS {
        if remove_path(&mut config, path).is_some() {
            dropped_keys.push(path.join("."));
        }
    }
    for path in REQUIRED_KEYS {
        let present = get_path(&config, path)
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty());
        if !present {
            return Err(ConfigError::MissingRequiredKey(path.join(".")));
        }
    }

    let identity_schemas: Vec<Value> = schemas
        .iter()
        .map(|schema| {
            json!({
                "id": schema.id,
                "url": schema_url(&schema.id),
                "selfservice_selectable": schema.selfservice_selectable,
            })
        })
        .collect();
    let owned: [(&[&str], Value); 4] = [
        (
            &["identity"],
            json!({"default_schema_id": default_schema_id, "schemas": identity_schemas}),
        ),
        (&["serve", "public", "port"], json!(PUBLIC_CONTAINER_PORT)),
        (&["serve", "admin", "port"], json!(ADMIN_CONTAINER_PORT)),
        (
            // Read by the server to watch the IdentitySchemas of this instance in the cluster.
            &["kratos_rs"],
            json!({"kubernetes": {"identity_schemas": {
                "namespace": namespace(instance)?,
                "label_selector": schema_selector,
                "instance": instance.name_any(),
            }}}),
        ),
    ];
    for (path, value) in owned {
        if let Some(previous) = set_path(&mut config, path, value.clone())
            && previous != value
        {
            dropped_keys.push(path.join("."));
        }
    }

    let body = serde_saphyr::to_string(&Value::Object(config))
        .map_err(|error| ConfigError::Render(error.to_string()))?;
    let kratos_yml = format!(
        "# Rendered by kratos-operator from KratosInstance {}/{}: edit the KratosInstance, not this file.\n{body}",
        namespace(instance)?,
        instance.name_any()
    );
    Ok(RenderedConfig {
        kratos_yml,
        dropped_keys,
    })
}

/// The ConfigMap `<instance>-config`: kratos.yml and one file per served schema.
pub fn config_map(
    instance: &KratosInstance,
    kratos_yml: &str,
    schemas: &[ServedSchema],
) -> Result<ConfigMap, RenderError> {
    let mut data = BTreeMap::from([(KRATOS_YML_KEY.to_owned(), kratos_yml.to_owned())]);
    for schema in schemas {
        let content = serde_json::to_string_pretty(&schema.content)
            .map_err(|error| RenderError::Serialize(error.to_string()))?;
        data.insert(schema_key(&schema.id), content);
    }
    Ok(ConfigMap {
        metadata: child_meta(
            instance,
            names::config_map(&instance.name_any()),
            Component::Config,
        )?,
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// A Secret value the pods consume, identified without revealing it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretDigest {
    pub secret: String,
    pub key: String,
    /// Hex SHA-256 of the value.
    pub sha256: String,
}

impl SecretDigest {
    pub fn new(secret: &str, key: &str, value: &[u8]) -> Self {
        Self {
            secret: secret.to_owned(),
            key: key.to_owned(),
            sha256: hex::encode(Sha256::digest(value)),
        }
    }
}

/// The hash that rolls the pods: over kratos.yml and every Secret value the pods consume.
///
/// Schema file contents are deliberately not part of it: servers reload schemas without a
/// restart (watched file or cluster watch), while the set of schema ids is in kratos.yml.
pub fn config_hash(kratos_yml: &str, secrets: &[SecretDigest]) -> String {
    let mut sorted = secrets.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(kratos_yml.as_bytes());
    for digest in sorted {
        hasher.update(format!(
            "\0{}\0{}\0{}",
            digest.secret, digest.key, digest.sha256
        ));
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

fn get_path<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut current = map;
    for key in parents {
        current = current.get(*key)?.as_object()?;
    }
    current.get(*last)
}

fn remove_path(map: &mut Map<String, Value>, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut current = map;
    for key in parents {
        current = current.get_mut(*key)?.as_object_mut()?;
    }
    current.remove(*last)
}

/// Sets `path` to `value`, creating (or replacing non-object) parents; returns the old value.
fn set_path(map: &mut Map<String, Value>, path: &[&str], value: Value) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut current = map;
    for key in parents {
        let entry = current
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut()?;
    }
    current.insert((*last).to_owned(), value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::instance;

    fn schema(id: &str) -> ServedSchema {
        let content = json!({"properties": {"traits": {"type": "object", "properties": {"email": {"type": "string"}}}}});
        ServedSchema {
            id: id.into(),
            source: format!("{id}-object"),
            content_hash: kratos_crds::content_hash(&content),
            content,
            selfservice_selectable: id == "customer",
        }
    }

    fn parse(yaml: &str) -> Value {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn renders_identity_schemas_ports_and_the_cluster_watch_block() {
        let instance = instance(json!({}));
        let rendered = render_kratos_yml(
            &instance,
            &[schema("default"), schema("customer")],
            "default",
            "app=shop",
        )
        .unwrap();
        assert!(
            rendered
                .kratos_yml
                .starts_with("# Rendered by kratos-operator")
        );
        let config = parse(&rendered.kratos_yml);
        assert_eq!(
            config["identity"],
            json!({
                "default_schema_id": "default",
                "schemas": [
                    {"id": "default", "url": "file:///etc/kratos/schemas/default.schema.json", "selfservice_selectable": false},
                    {"id": "customer", "url": "file:///etc/kratos/schemas/customer.schema.json", "selfservice_selectable": true}
                ]
            })
        );
        assert_eq!(config["serve"]["public"]["port"], json!(4433));
        assert_eq!(config["serve"]["admin"]["port"], json!(4434));
        assert_eq!(
            config["kratos_rs"],
            json!({"kubernetes": {"identity_schemas": {
                "namespace": "identity", "label_selector": "app=shop", "instance": "shop"
            }}})
        );
        assert_eq!(
            config["selfservice"]["default_browser_return_url"],
            json!("https://shop.example.com/")
        );
        assert_eq!(rendered.dropped_keys, Vec::<String>::new());
    }

    #[test]
    fn credentials_are_dropped_and_owned_keys_win() {
        let instance = instance(json!({"config": {
            "dsn": "postgres://user:hunter2@db/kratos",
            "secrets": {"cookie": ["a-cookie-secret-1234"]},
            "courier": {"smtp": {"connection_uri": "smtp://u:p@mail", "from_address": "no-reply@shop.example.com"}},
            "serve": {"public": {"port": 8080, "base_url": "https://shop.example.com/.ory/"}, "admin": {"port": 4434}},
            "identity": {"default_schema_id": "other", "schemas": []},
            "selfservice": {"default_browser_return_url": "https://shop.example.com/"}
        }}));
        let rendered = render_kratos_yml(&instance, &[schema("default")], "default", "").unwrap();
        assert!(!rendered.kratos_yml.contains("hunter2"));
        assert!(!rendered.kratos_yml.contains("smtp://"));
        assert!(!rendered.kratos_yml.contains("a-cookie-secret"));
        let config = parse(&rendered.kratos_yml);
        assert_eq!(config["serve"]["public"]["port"], json!(4433));
        assert_eq!(
            config["serve"]["public"]["base_url"],
            json!("https://shop.example.com/.ory/")
        );
        assert_eq!(
            config["courier"]["smtp"]["from_address"],
            json!("no-reply@shop.example.com")
        );
        assert_eq!(config["identity"]["default_schema_id"], json!("default"));
        assert_eq!(
            rendered.dropped_keys,
            vec![
                "dsn",
                "secrets",
                "courier.smtp.connection_uri",
                "identity",
                "serve.public.port"
            ]
        );
    }

    #[test]
    fn the_default_return_url_is_required() {
        let instance = instance(json!({"config": {"session": {"lifespan": "24h"}}}));
        assert_eq!(
            render_kratos_yml(&instance, &[schema("default")], "default", ""),
            Err(ConfigError::MissingRequiredKey(
                "selfservice.default_browser_return_url".into()
            ))
        );
    }

    #[test]
    fn the_config_map_carries_kratos_yml_and_each_schema() {
        let instance = instance(json!({}));
        let schemas = [schema("default"), schema("customer")];
        let map = config_map(&instance, "kratos: yml\n", &schemas).unwrap();
        assert_eq!(map.metadata.name.as_deref(), Some("shop-config"));
        let data = map.data.unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(data["kratos.yml"], "kratos: yml\n");
        let stored: Value = serde_json::from_str(&data["customer.schema.json"]).unwrap();
        assert_eq!(stored, schemas[1].content);
        assert_eq!(schema_path("customer"), "schemas/customer.schema.json");
    }

    #[test]
    fn the_config_hash_covers_the_file_and_secret_values_in_any_order() {
        let a = SecretDigest::new("db", "dsn", b"postgres://a");
        let b = SecretDigest::new("shop-secrets", "default", b"[\"x\"]");
        let base = config_hash("yml", &[a.clone(), b.clone()]);
        assert!(base.starts_with("sha256:"));
        assert_eq!(base, config_hash("yml", &[b.clone(), a.clone()]));
        assert_ne!(base, config_hash("yml2", &[a.clone(), b.clone()]));
        let rotated = SecretDigest::new("db", "dsn", b"postgres://b");
        assert_ne!(base, config_hash("yml", &[rotated, b]));
        assert!(!a.sha256.contains("postgres"));
    }
}
